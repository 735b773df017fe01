"""State: the estimator and its net, to and from a model file's values.

Saving reads the estimator's fitted state through its state hook; loading
builds the estimator from checked parameters and attributes, checks the
weights against the network it describes (built on PyTorch's meta device,
which allocates nothing), then builds that network for real and loads them.
"""

import dataclasses
import json
import reprlib

import numpy as np
import safetensors.torch
import torch
from sklearn.preprocessing import StandardScaler
from skorch.history import History

from .._calibration import Calibration
from .._classifier import MultiTaskHealthClassifier
from .._estimator import MultiTaskHealthRegressor
from .._torch_utils import DeviceError, resolve_device, torch_seed
from .._training import NetworkConfig, TrainingSettings, make_net
from .._validation import final_step
from ..losses import BINARY_LOSSES
from ..privacy import PrivateTraining
from ._codec import decode, decode_param, encode, encode_params, plain
from ._container import METADATA, WEIGHTS, ModelFileError
from ._schema import (
    CLASS_ATTRIBUTES,
    PRIVATE_ATTRIBUTES,
    SCALER_ATTRIBUTES,
    check_attributes,
    check_calibration,
    check_class_weight,
    check_net_record,
    check_target_statistics,
    expect,
    fits_group,
    malformed,
    some,
)

# The estimators a model file may hold, by the class name it records: loading
# builds one of these, and nothing else (no class is imported by name).
ESTIMATORS = {
    cls.__name__: cls for cls in (MultiTaskHealthRegressor, MultiTaskHealthClassifier)
}

# Parameters added since the first format of each estimator, with the value
# that means what older files did: saving leaves them out at that value,
# loading fills it in.
_ADDED_PARAMS = {
    "MultiTaskHealthRegressor": {
        "target_transform": None,
        "dp": None,
        "precision": "float32",
    },
    "MultiTaskHealthClassifier": {"dp": None, "precision": "float32"},
}

# How safetensors names the dtypes a network's state holds
_SAFETENSORS_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.bool: "BOOL",
}


# ------------------------------------------------------------------- saving
def final_estimator(obj):
    """The estimator a model file stores for ``obj``, or a TypeError."""
    estimator = final_step(obj)
    if type(estimator) not in ESTIMATORS.values():
        raise TypeError(
            "skhealth.save writes a MultiTaskHealthRegressor, a "
            "MultiTaskHealthClassifier or a Pipeline whose last step is one; got "
            f"{type(obj).__name__}"
            + (f" ending in {type(estimator).__name__}" if estimator is not obj else "")
            + (
                ": save the search's best_estimator_ where that is one, "
                "skhealth.save(search.best_estimator_, path)"
                if hasattr(estimator, "best_estimator_")
                else ". Save other objects (and subclasses) with pickle or joblib."
            )
        )
    return estimator


def _cpu_copy(tensor):
    # a copy, since safetensors refuses tensors that share memory
    return tensor.detach().to("cpu", copy=True)


def not_finite(tensors):
    """Names of the floating-point ``tensors`` that hold NaN or inf."""
    return [
        key
        for key, tensor in tensors.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def dump(estimator, limits):
    """The metadata values and the weights of the fitted ``estimator``."""
    # loading refuses invalid parameters, and rebuilds from them the network
    # the weights must fit
    estimator._validate_params()
    state = estimator._get_fitted_state()
    cls = type(estimator).__name__
    # and those of its class (a classifier's classes), which loading requires
    attributes = state["attributes"] | {
        name: getattr(estimator, name) for name in CLASS_ATTRIBUTES[cls]
    }
    if "classes_" in attributes:
        attributes["classes_"] = _typed_classes(attributes["classes_"])
    history = _plain_history(state["net"].history)
    if "epsilon_" in attributes:
        # what training measured on the private rows is outside the privacy
        # accounting: a private model's file leaves it out
        attributes |= {"loss_curve_": None, "best_loss_": None}
        history = [
            {key: epoch[key] for key in _PRIVATE_EPOCH_KEYS if key in epoch}
            | {"batches": [{} for _ in epoch["batches"]]}
            for epoch in history
        ]
    config = NetworkConfig.from_params(
        estimator.get_params(),
        attributes,
        estimator._task_losses(attributes["n_tasks_"]),
    )
    if config.n_layers > limits.layers:
        raise ValueError(
            f"The model has {config.n_layers} hidden layers, more than the "
            f"{limits.layers} a model file may describe (loading refuses more, so "
            "that a small file cannot stall it). Save it with pickle or joblib."
        )
    net = state["net"]
    tensors = {}
    for prefix, part in (("module", net.module_), ("criterion", net.criterion_)):
        for key, tensor in part.state_dict().items():
            tensors[f"{prefix}.{key}"] = _cpu_copy(tensor)
    optimizer = net.optimizer_.state_dict()
    for index, entries in optimizer["state"].items():
        for key, value in entries.items():
            tensors[f"optimizer.{index}.{key}"] = _cpu_copy(value)
    wrong = not_finite(tensors)
    if wrong:
        raise ValueError(
            f"The model's network holds values that are not finite (NaN or inf) "
            f"in {', '.join(wrong)}: it predicts nothing useful, and loading "
            "refuses such a file. Fit it again (lower learning_rate_init, or scale "
            "the inputs)."
        )
    scaler = state["target_scaler"]
    values = {
        "estimator": {
            "class": cls,
            "params": encode_params(_params_to_store(estimator)),
        },
        "attributes": {
            name: encode(value, name, settable=False)
            for name, value in attributes.items()
        },
        "target_scaler": {
            name: encode(getattr(scaler, name), name) for name in SCALER_ATTRIBUTES
        },
        "net": {
            "batch_size": encode(net.batch_size, "batch_size"),
            "history": history,
            "optimizer": {
                "param_groups": encode(optimizer["param_groups"], "optimizer"),
                # Adam's state is all tensors (fused, its step is one too)
                "state": {},
            },
        },
    }
    if "calibration" in state:  # none in a model fitted before there was one
        calibration = state["calibration"]
        values["calibration"] = (
            None
            if calibration is None
            else encode(dataclasses.asdict(calibration), "calibration")
        )
    return values, safetensors.torch.save(tensors)


def _typed_classes(classes):
    """A classifier's ``classes_`` with each task's numbers or bools in an
    array of their type: a 2-D ``y`` of text and number columns gives object
    arrays of them, which a file holds only of str. They compare, and so
    predict, the same."""

    def typed(task_classes):
        if task_classes.dtype == object and not any(
            isinstance(c, str) for c in task_classes
        ):
            return np.array(task_classes.tolist())
        return task_classes

    return [typed(c) for c in classes] if isinstance(classes, list) else typed(classes)


def _params_to_store(estimator):
    """The estimator's parameters, less those added since the first format
    that have the value older files meant: a file that needs no newer
    parameter stays readable by an older skhealth."""
    added = _ADDED_PARAMS[type(estimator).__name__]
    return {
        name: value
        for name, value in estimator.get_params(deep=False).items()
        if not (
            name in added and type(value) is type(added[name]) and value == added[name]
        )
    }


# What a private model's file keeps of each epoch: none of it is computed
# from the training rows (its batches keep no loss and no size).
_PRIVATE_EPOCH_KEYS = ("epoch", "dur", "task_weights")


def _plain_history(history):
    """skorch's history as JSON data (NumPy values as plain ones)."""
    return json.loads(json.dumps(history, default=plain))


# ------------------------------------------------------------------ loading
@dataclasses.dataclass(frozen=True)
class Described:
    """What a model file's metadata describe, checked: the estimator (its
    parameters set, not fitted), what fitting learned, and the net as built."""

    estimator: object
    attributes: dict
    target_scaler: StandardScaler
    config: NetworkConfig
    settings: TrainingSettings
    # absent (a file from before skhealth kept one), None or a Calibration
    calibration: dict


def describe(metadata, name, limits):
    """What the ``metadata`` describe (:class:`Described`), every value checked
    against what fitting gives; no network yet."""
    saved = metadata["estimator"]
    cls_name = saved["class"]
    if not (isinstance(cls_name, str) and cls_name in ESTIMATORS):
        raise ModelFileError(
            f"{name} holds a {reprlib.repr(cls_name)}, which this skhealth cannot "
            f"build (it builds {' and '.join(ESTIMATORS)}): upgrade skhealth."
        )
    cls = ESTIMATORS[cls_name]
    params = {**_ADDED_PARAMS[cls_name], **saved["params"]}
    known = cls().get_params().keys()
    if params.keys() - known:
        raise ModelFileError(
            f"{name} was saved by skhealth {metadata['versions']['skhealth']} with "
            "parameters this skhealth does not know "
            f"({', '.join(sorted(params.keys() - known))}): upgrade skhealth."
        )
    if known - params.keys():
        # today's default need not be what the model was fitted with
        raise ModelFileError(
            f"{name} is damaged: it lacks the parameters "
            f"{', '.join(sorted(known - params.keys()))}, which every skhealth "
            "model file records."
        )
    decoded = {}
    for param, data in params.items():
        with malformed(name, f"its parameter {param}"):
            decoded[param] = decode_param(param, data, name)
    estimator = cls(**decoded)
    with malformed(name, "a parameter"):  # the error names it
        estimator._validate_params()
    if cls is MultiTaskHealthClassifier:  # its keys and weights too
        check_class_weight(estimator.class_weight, name)
    try:  # a device fitting can use somewhere, if maybe not here
        device = estimator.device
        known_device = device == "auto" or torch.device(device).type in ("cpu", "cuda")
    except RuntimeError:
        known_device = False
    expect(known_device, device, "'auto', 'cpu', 'cuda' or 'cuda:N'", "device", name)
    attributes = {}
    for attribute, value in metadata["attributes"].items():
        with malformed(name, f"its {attribute}"):
            attributes[attribute] = decode(value)
    check_attributes(attributes, name, cls_name)
    private = estimator.dp is not None
    wrong = [a for a in PRIVATE_ATTRIBUTES if (a in attributes) != private]
    if wrong:
        raise ModelFileError(
            f"{name} is damaged: its dp parameter is {estimator.dp!r} but it "
            f"{'lacks' if private else 'holds'} {some(wrong)}, which a model "
            f"trained {'with' if private else 'without'} dp has."
        )
    with malformed(name, "a parameter"):
        losses = estimator._task_losses(attributes["n_tasks_"])
    binary = np.isin(losses, list(BINARY_LOSSES))
    scaler = StandardScaler()
    with malformed(name, "its target statistics"):
        for attribute in SCALER_ATTRIBUTES:
            setattr(scaler, attribute, decode(metadata["target_scaler"][attribute]))
    check_target_statistics(scaler, attributes["n_tasks_"], name, binary)
    with malformed(name, "a parameter"):
        config = NetworkConfig.from_params(estimator.get_params(), attributes, losses)
        settings = TrainingSettings.from_params(estimator.get_params())
    expect(
        config.n_layers <= limits.layers,
        config.n_layers,
        f"at most {limits.layers}",
        "number of hidden layers",
        name,
    )
    saved_net = metadata["net"]
    with malformed(name, "its batch size"):
        batch_size = decode(saved_net["batch_size"])
    check_net_record(saved_net, batch_size, attributes, name)
    # the net as fitting built it, for the batch size it trained with
    settings = dataclasses.replace(settings, batch_size=batch_size)
    calibration = {}
    if "calibration" in metadata:
        if cls is MultiTaskHealthClassifier:
            raise ModelFileError(
                f"{name} is damaged: it holds a calibration of prediction "
                "intervals, which a MultiTaskHealthClassifier does not have."
            )
        with malformed(name, "its calibration"):
            data = decode(metadata["calibration"])
        # of the continuous tasks only
        check_calibration(data, attributes, name, int((~binary).sum()))
        calibration = {"calibration": None if data is None else Calibration(**data)}
    return Described(estimator, attributes, scaler, config, settings, calibration)


def weights_bound(described, name):
    """An upper bound on the bytes of the weights of the network ``described``,
    found without building it: a member's values, twice again as Adam's
    moments, and a KiB for the name and step of each tensor and for the
    criterion's per task."""
    # one member, on the meta device: it allocates nothing, and its number of
    # layers is bounded
    with malformed(name, "the network its parameters describe"), torch.device("meta"):
        state = described.config.build_member().state_dict()
    n_bytes = sum(tensor.numel() * tensor.element_size() for tensor in state.values())
    per_member = 3 * (n_bytes + 1024 * len(state))
    return described.config.n_members * per_member + 1024 * described.config.n_tasks


def weights_layout(described, name):
    """A function that checks the weights' header against the network
    ``described``, and returns each tensor's dtype and shape."""
    config, settings = described.config, described.settings

    def layout_of(header):
        if not isinstance(header, dict):
            raise ModelFileError(f"{name} is damaged: {WEIGHTS} has no valid header.")
        # A doctored n_members would build that many members, even on the
        # meta device: compare it with the file's first.
        copies = {
            key.split(".")[2] for key in header if key.startswith("module.members.")
        }
        n_copies = max(len(copies), 1)
        if n_copies != config.n_members:
            raise ModelFileError(
                f"{name} is damaged: {WEIGHTS} holds the weights of {n_copies} "
                f"network(s), not of n_members={config.n_members!r}."
            )
        meta = torch.device("meta")
        with malformed(name, "the network its parameters describe"), meta:
            net = make_net(config, settings, 1, meta).initialize()
        layout = _layout(net)
        missing, unexpected = (
            layout.keys() - header.keys(),
            header.keys() - layout.keys(),
        )
        mismatched = [
            key
            for key in layout.keys() & header.keys()
            if not isinstance(header[key], dict)
            or header[key].get("dtype") != _SAFETENSORS_DTYPES.get(layout[key][0])
            or header[key].get("shape") != layout[key][1]
        ]
        if missing or unexpected or mismatched:
            raise ModelFileError(
                f"{name} is damaged: the weights in {WEIGHTS} do not fit the network "
                f"its {METADATA} describes (missing: {some(missing)}; unexpected: "
                f"{some(unexpected)}; wrong shape or dtype: {some(mismatched)})."
            )
        return list(layout.values())

    return layout_of


def _layout(net):
    """The name, dtype and shape of every tensor a model file holds for ``net``."""
    layout = {}
    for prefix, part in (("module", net.module_), ("criterion", net.criterion_)):
        for key, tensor in part.state_dict().items():
            layout[f"{prefix}.{key}"] = (tensor.dtype, list(tensor.shape))
    # Adam (fused) keeps a float32 step and two moments for every parameter,
    # each of which fitting updates
    parameters = [p for group in net.optimizer_.param_groups for p in group["params"]]
    for index, parameter in enumerate(parameters):
        layout[f"optimizer.{index}.step"] = (torch.float32, [])
        for moment in ("exp_avg", "exp_avg_sq"):
            layout[f"optimizer.{index}.{moment}"] = (
                parameter.dtype,
                list(parameter.shape),
            )
    return layout


def restore(described, metadata, weights, device, name):
    """The estimator ``described``, fitted: its attributes, target statistics
    and a net on ``device`` with the ``weights``, whose names, dtypes and
    shapes :func:`weights_layout` checked."""
    tensors = safetensors.torch.load(weights)
    wrong = not_finite(tensors)
    if wrong:
        raise ModelFileError(
            f"{name} is damaged: {WEIGHTS} holds values that are not finite (NaN "
            f"or inf) in {some(wrong)}; fitting keeps no such network."
        )
    saved = metadata["net"]
    config, settings = described.config, described.settings
    attributes = described.attributes
    privacy = None
    if config.params.get("dp") is not None:
        privacy = PrivateTraining(
            config.params["dp"],
            attributes["noise_multiplier_"],
            [tuple(step) for step in attributes["_privacy_history"]],
        )
    with torch_seed(attributes["_seed"], device):
        net = make_net(
            config, settings, settings.batch_size, device, privacy
        ).initialize()
    for prefix, part in (("module", net.module_), ("criterion", net.criterion_)):
        part.load_state_dict(
            {
                key.removeprefix(f"{prefix}."): tensor
                for key, tensor in tensors.items()
                if key.startswith(f"{prefix}.")
            }
        )
    _load_optimizer(net.optimizer_, tensors, saved["optimizer"], name)
    net.history = History(saved["history"])
    estimator = described.estimator
    estimator._set_fitted_state(
        {
            "attributes": described.attributes,
            "target_scaler": described.target_scaler,
            "net": net,
            **described.calibration,
        }
    )
    return estimator


def _load_optimizer(optimizer, tensors, saved, name):
    # torch takes the saved groups as they are, and matches the state to the
    # parameters by the indices they list
    groups, built = decode(saved["param_groups"]), optimizer.state_dict()
    if not (
        isinstance(groups, list)
        and len(groups) == len(built["param_groups"])
        and all(map(fits_group, groups, built["param_groups"]))
    ):
        raise ModelFileError(
            f"{name} is damaged: its optimizer settings are not those of the "
            "optimizer the estimator builds."
        )
    state = {}
    for key, tensor in tensors.items():
        if key.startswith("optimizer."):
            index, entry = key.removeprefix("optimizer.").split(".", 1)
            state.setdefault(int(index), {})[entry] = tensor
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def device_for(estimator, device, name):
    """The torch device to load onto: ``device``, or the one saved."""
    if device is not None:
        estimator.set_params(device=device)
    try:
        return resolve_device(estimator.device)
    except ValueError as exc:
        if device is not None:
            raise
        raise DeviceError(
            f"{name} was saved with device={estimator.device!r}, which this machine "
            f"cannot use ({exc.reason})",
            "pass device='cpu' (or 'auto') to skhealth.load.",
        ) from exc
