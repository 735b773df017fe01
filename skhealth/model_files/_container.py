"""The container: a zip archive of members, their limits and checksums.

It knows bytes, not values: how much each member may inflate to, the seal of
the metadata (its SHA-256 in the archive's comment), and the layout of a
safetensors member. It writes an archive so that a failure never leaves part
of one behind.
"""

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import reprlib
import stat
import zipfile
import zlib

FORMAT_NAME = "skhealth-model"
# Loading reads every version; saving writes the last. How to read an older
# version, step by step:
# 1: the metadata's SHA-256 is inside it (``metadata_sha256``, over the
#    metadata without that key as canonical JSON), so checked after parsing.
# 2: the metadata is written as canonical JSON and its SHA-256 is in the
#    archive's comment, checked before parsing. Nothing else changed: a
#    version-1 file loads to the same model.
FORMAT_VERSION = 2
_SEAL = re.compile(rb"skhealth-model (\d{1,9}) metadata-sha256=([0-9a-f]{64})")

METADATA = "metadata.json"
WEIGHTS = "weights.safetensors"
PREPROCESSING = "preprocessing.skops"


class ModelFileError(ValueError):
    """A model file that cannot be loaded.

    It is not a skhealth model file, it is damaged or was modified, or it was
    written by a newer skhealth. The message names the file and the problem.
    """


@dataclasses.dataclass(frozen=True)
class Limits:
    """What a model file may hold, so that a small forged file cannot make
    loading inflate gigabytes or stall. :func:`~skhealth.save` refuses a model
    beyond them, and :func:`~skhealth.load` a file.

    Parameters
    ----------
    metadata : int, default=64 MiB
        Bytes of ``metadata.json``, mostly the training history (a few numbers
        per batch).
    json_values : int, default=4,000,000
        Values in ``metadata.json``: parsed JSON takes up to about 70 bytes of
        memory per value (an empty object in 3 bytes of text takes 64), so at
        most about 290 MB however they nest. A fit's history takes about 4
        per batch.
    weights : int, default=1 GiB
        Bytes of the weights, with Adam's moments: three times the network's.
    weights_header : int, default=16 MiB
        Bytes of the weights' header (a tensor's name, dtype, shape and
        offsets each): a network of 10,000 layers needs about 8 MiB.
    preprocessing : int, default=256 MiB
        Bytes of a pipeline's preprocessing, all its arrays together.
    layers : int, default=10,000
        Hidden layers of the trunk and of a head together. Building the
        network a file describes costs time per layer even on PyTorch's meta
        device (about 1.7 s for 10,000), and fit trains no useful network that
        deep.
    """

    metadata: int = 64 * 2**20
    json_values: int = 4_000_000
    weights: int = 2**30
    weights_header: int = 16 * 2**20
    preprocessing: int = 256 * 2**20
    layers: int = 10_000

    def of(self, member):
        """The limit on the bytes ``member`` inflates to.

        Parameters
        ----------
        member : {"metadata.json", "weights.safetensors", "preprocessing.skops"}
            The name of a member of the archive.

        Returns
        -------
        limit : int
            In bytes: ``metadata``, ``preprocessing``, or for the weights
            ``weights_header + weights``, the whole safetensors member.
        """
        return {
            METADATA: self.metadata,
            WEIGHTS: self.weights_header + self.weights,
            PREPROCESSING: self.preprocessing,
        }[member]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def canonical(data):
    """``data`` as JSON with sorted keys and no whitespace, as bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def n_json_values(text):
    """An upper bound on the values in the JSON ``text``: each but the first
    follows a comma, a colon or an opening bracket."""
    return 1 + sum(text.count(char) for char in (b",", b":", b"["))


def parse_json(data, what, name, limits):
    """The JSON ``data``, after bounding the memory that parsing it takes."""
    n_values = n_json_values(data)
    if n_values > limits.json_values:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {what} holds about "
            f"{n_values} JSON values, more than the {limits.json_values} loading "
            "parses."
        )
    try:
        return json.loads(data)
    # ValueError: also a number of more digits than Python converts;
    # RecursionError: lists nested too deeply for the parser
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(
            f"{name} is damaged: {what} is not valid JSON ({exc})."
        ) from exc


def newer_format(version, name):
    return ModelFileError(
        f"{name} was written by skhealth format version {version}; this "
        f"skhealth reads up to {FORMAT_VERSION}: upgrade skhealth."
    )


# ------------------------------------------------------------------ reading
def check_sizes(infos, limit, what, name):
    """Refuse zip entries ``infos`` that would inflate to more than ``limit``
    bytes in all, or that are compressed otherwise than by deflate: zipfile
    inflates deflate in bounded steps, but bzip2 and LZMA at one go."""
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(
                f"{name} is damaged: {what} is corrupt (it uses compression method "
                f"{info.compress_type}; skhealth writes deflate)."
            )
    size = sum(info.file_size for info in infos)
    if size > limit:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {what} would be "
            f"{size} bytes once decompressed, more than the {limit} it can hold."
        )


@contextlib.contextmanager
def inflating(member, name):
    """Report what zipfile finds wrong while inflating ``member``."""
    try:
        yield
    # RuntimeError: an encrypted member, which skhealth does not write.
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
        raise ModelFileError(
            f"{name} is damaged: {member} is corrupt ({exc})."
        ) from exc


class Reader:
    """The members of the model file at ``path``, read within ``limits``.

    Only the members a model file has, each once, are accepted: zip tools
    and Python would not agree on which of two of the same name is read.
    """

    def __init__(self, path, name, limits):
        self.name, self.limits = name, limits
        try:
            self._archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile as exc:
            raise ModelFileError(
                f"{name} is not a skhealth model file: it is not a zip archive, or "
                "it is truncated."
            ) from exc
        self.members = self._archive.namelist()
        known = (METADATA, WEIGHTS, PREPROCESSING)
        names = set(self.members)
        if len(names) < len(self.members) or not names <= set(known):
            self._archive.close()
            raise ModelFileError(
                f"{name} is damaged or not a skhealth model file: it holds the "
                f"members {reprlib.repr(self.members)}, not {', '.join(known)} "
                "(the last only for a pipeline), each once."
            )

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._archive.close()

    def read(self, member, limit=None):
        """The bytes of ``member``, at most ``limit`` (its limit by default)."""
        limit = self.limits.of(member) if limit is None else limit
        try:
            info = self._archive.getinfo(member)
        except KeyError:
            raise ModelFileError(
                f"{self.name} is damaged: it lacks {member}."
            ) from None
        check_sizes([info], limit, member, self.name)
        with inflating(member, self.name), self._archive.open(info) as stream:
            data = stream.read(limit + 1)  # bounded, should the declared size lie
        if len(data) > limit:
            raise ModelFileError(
                f"{self.name} is damaged or not a skhealth model file: {member} "
                f"holds more than the {limit} bytes it declares or can hold."
            )
        return data

    def metadata(self):
        """The metadata, checked against its seal (before it is parsed, from
        version 2 on), and its format and library versions."""
        name = self.name
        data = self.read(METADATA)
        sealed = _SEAL.fullmatch(self._archive.comment)
        if sealed and int(sealed[1]) > FORMAT_VERSION:
            raise newer_format(int(sealed[1]), name)
        if sealed and sha256(data) != sealed[2].decode():
            raise _modified(name)
        metadata = parse_json(data, METADATA, name, self.limits)
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
            raise ModelFileError(
                f"{name} is not a skhealth model file: its {METADATA} does not name "
                f"the {FORMAT_NAME!r} format."
            )
        version = metadata.get("format_version")
        if type(version) is not int or version < 1:
            raise ModelFileError(
                f"{name} is damaged: its format version {version!r} is not a "
                "positive integer."
            )
        if version > FORMAT_VERSION:
            raise newer_format(version, name)
        if version == 1:  # the checksum is inside the metadata
            intact = not sealed and metadata.pop("metadata_sha256", None) == sha256(
                canonical(metadata)
            )
        else:
            intact = bool(sealed) and int(sealed[1]) == version
        if not intact:
            raise _modified(name)
        versions = metadata.get("versions")
        if not isinstance(versions, dict) or not all(
            isinstance(v, str) for v in versions.values()
        ):
            raise ModelFileError(
                f"{name} is damaged: {METADATA} records no library versions."
            )
        return metadata

    def safetensors(self, member, layout_of, bound):
        """The safetensors ``member``, inflated past its header only once the
        header is checked and its declared size is exactly that of the tensors
        it lists.

        ``layout_of(header)`` checks the parsed header and returns each
        tensor's ``(dtype, shape)``; ``bound`` is an upper bound on the
        member's size known before it is opened."""
        name, limits = self.name, self.limits
        info = self._archive.getinfo(member)
        check_sizes([info], min(bound, limits.of(member)), member, name)
        with inflating(member, name), self._archive.open(info) as stream:
            prefix = stream.read(8)
            n_header = int.from_bytes(prefix, "little")
            if len(prefix) < 8 or not 0 < n_header <= min(
                limits.weights_header, info.file_size
            ):
                raise ModelFileError(
                    f"{name} is damaged: {member} has no valid header."
                )
            header = stream.read(n_header)
        layout = layout_of(parse_json(header, f"the header of {member}", name, limits))
        n_data = sum(math.prod(shape) * dtype.itemsize for dtype, shape in layout)
        if n_data > limits.weights:
            raise ModelFileError(
                f"{name} describes a network whose weights take {n_data} bytes, "
                f"more than the {limits.weights} a model file may hold."
            )
        if info.file_size != 8 + n_header + n_data:
            raise ModelFileError(
                f"{name} is damaged: {member} declares {info.file_size} bytes, not "
                f"the {8 + n_header + n_data} of its header and the tensors it lists."
            )
        with inflating(member, name), self._archive.open(info) as stream:
            data = stream.read(info.file_size + 1)  # bounded, should the size lie
        if len(data) != info.file_size:
            raise ModelFileError(
                f"{name} is damaged: {member} holds other than the "
                f"{info.file_size} bytes it declares."
            )
        return data


def _modified(name):
    return ModelFileError(
        f"{name} was modified or damaged: {METADATA} does not match its SHA-256."
    )


# ------------------------------------------------------------------ writing
def check_limits(members, limits):
    """Refuse to write ``members`` that loading would refuse."""
    for member, data in members.items():
        limit = limits.weights if member == WEIGHTS else limits.of(member)
        if len(data) > limit:
            raise ValueError(
                f"The model's {member} would be {len(data)} bytes, more than the "
                f"{limit} a model file may hold (loading refuses larger members, "
                "so that a small file cannot make it inflate gigabytes). Save this "
                "model with pickle or joblib, or raise skhealth.model_files.Limits."
            )
    n_values = n_json_values(members[METADATA])
    if n_values > limits.json_values:
        raise ValueError(
            f"The model's {METADATA} would hold about {n_values} values (most of "
            f"them its training history), more than the {limits.json_values} "
            "loading parses. Save this model with pickle or joblib, or raise "
            "skhealth.model_files.Limits."
        )


def write(path, members):
    """Write ``members`` (their bytes by name, the metadata first) as a model
    file at ``path``, sealing the metadata.

    A failure (a full disk, a killed process) or another process saving to
    the same path at the same time never leaves a partial file there: the
    archive is written to a temporary file beside it, synced, then renamed
    over it. An error names ``path``.
    """
    seal = b"%s %d metadata-sha256=%s" % (
        FORMAT_NAME.encode(),
        FORMAT_VERSION,
        sha256(members[METADATA]).encode(),
    )
    try:
        _write_atomically(os.fspath(path), members, seal)
    except OSError as exc:
        # the path the caller gave, not the temporary file's
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc


def _zip(stream, members, comment):
    with zipfile.ZipFile(stream, "w") as archive:
        archive.comment = comment
        for member, data in members.items():
            # A fixed timestamp: the same model gives the same file.
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


def _write_atomically(path, members, comment):
    target = os.path.realpath(path)  # a link's target is replaced, not the link
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        # a device or a pipe (-o /dev/null): nothing to rename over
        with open(target, "wb") as stream:
            _zip(stream, members, comment)
        return
    folder, base = os.path.split(target)
    temporary = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
    # created as open() creates files (0o666 less the umask), never over one
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            _zip(stream, members, comment)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:  # the replaced file's permissions
            os.chmod(temporary, stat.S_IMODE(mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # the rename itself survives a power cut once the folder is synced
    with contextlib.suppress(OSError):
        folder_descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_descriptor)
        finally:
            os.close(folder_descriptor)
