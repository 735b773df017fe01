"""Forging model files as an attacker or a careless edit would, for the tests:
members replaced, and the checksums recomputed ("sealed") or left as they were."""

import hashlib
import json
import zipfile


def members(path):
    """The members of the model file at ``path``, by name."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def comment(path):
    with zipfile.ZipFile(path) as archive:
        return archive.comment


def write(path, members, compression=zipfile.ZIP_STORED, comment=b""):
    """Write ``members`` as a zip archive, as they are."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        archive.comment = comment
        for name, data in members.items():
            archive.writestr(name, data)


def sealing_comment(metadata_bytes, version=2):
    """The archive comment that records the metadata's SHA-256."""
    digest = hashlib.sha256(metadata_bytes).hexdigest()
    return f"skhealth-model {version} metadata-sha256={digest}".encode()


def rewrite(
    path, edit_metadata=None, *, seal=True, replace=None, compression=zipfile.ZIP_STORED
):
    """Rewrite the model file at ``path``: its members replaced by ``replace``,
    its metadata edited in place by ``edit_metadata``, and with ``seal`` every
    checksum recomputed to match."""
    old_comment = comment(path)
    forged = {**members(path), **(replace or {})}
    metadata = json.loads(forged["metadata.json"])
    if edit_metadata is not None:
        edit_metadata(metadata)
    digests = metadata.get("members") if isinstance(metadata, dict) else None
    if seal and isinstance(digests, dict):  # as far as an edit left it a listing
        for name in digests.keys() & forged.keys():
            digests[name] = hashlib.sha256(forged[name]).hexdigest()
    forged["metadata.json"] = json.dumps(
        metadata, sort_keys=True, separators=(",", ":")
    ).encode()
    write(
        path,
        forged,
        compression,
        sealing_comment(forged["metadata.json"]) if seal else old_comment,
    )
