import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class _WithoutTensorFlow:
    """A meta path finder for which TensorFlow is not installed (`make test-without-tensorflow`).

    Not `sys.modules["tensorflow"] = None`: Keras tests `"tensorflow" in sys.modules`, which an
    install without TensorFlow answers False.
    """

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(f"No module named {name!r} (KERAS_CUTMIX_WITHOUT_TENSORFLOW)", name=name)
        return None


if os.environ.get("KERAS_CUTMIX_WITHOUT_TENSORFLOW"):
    sys.meta_path.insert(0, _WithoutTensorFlow())  # before Keras is imported: it looks for TensorFlow lazily

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {BACKEND}"


def pytest_collection_modifyitems(config, items):
    """Backend-independent tests (`@pytest.mark.once`) run in the tensorflow leg only (`once(leg="torch")`: the torch leg).

    Tests that run scripts in processes of their own (`@pytest.mark.own_process`:
    bench.py, gpu.sh; the scripts set their backends) run once too, in the
    torch leg, the lightest, so the legs take similar times side by side.
    """
    own = pytest.mark.skip(reason="runs scripts in their own processes: once, in the torch leg of the suite")
    for item in items:
        if item.get_closest_marker("own_process") is not None and BACKEND != "torch":
            item.add_marker(own)
    for item in items:
        if item.get_closest_marker("own_process") is not None:
            continue
        once = item.get_closest_marker("once")
        # tests/examples: the examples' helpers and scripts (TensorFlow, NumPy, matplotlib).
        if once is None and "examples" not in pathlib.Path(str(item.fspath)).parts[-2:-1]:
            continue
        # `once(leg=...)`: a backend-independent test moved to a lighter leg, to balance them.
        leg = once.kwargs.get("leg", "tensorflow") if once is not None else "tensorflow"
        if leg != BACKEND:
            item.add_marker(pytest.mark.skip(reason=f"backend-independent: runs once, in the {leg} leg of the suite"))


@pytest.fixture(autouse=True)
def _restore_global_keras_state():
    policy = keras.config.dtype_policy()
    data_format = keras.config.image_data_format()
    yield
    keras.config.set_dtype_policy(policy)
    keras.config.set_image_data_format(data_format)


# Hypothesis profiles for the property-based tests (tests/properties/test_properties.py).
# "ci" (selected when CI is set, as `make test` in CI runs) replays the same
# examples every run; "dev" draws fresh ones. Both keep the file fast: every
# example runs eagerly on a new shape. HYPOTHESIS_PROFILE=... overrides.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # only tests/properties/test_properties.py needs hypothesis
    pass
else:
    _common = dict(
        deadline=None,  # the first call on a new shape compiles (XLA, JAX)
        max_examples=20,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
        database=None,  # no .hypothesis/ directory in the checkout; print_blob reproduces failures
    )
    # The jax and torch legs replay the first 8 of the tensorflow leg's 20 examples: on eager JAX
    # every new shape compiles, and the math is the same `keras.ops` code on every backend.
    _examples = dict(_common, max_examples=8) if BACKEND != "tensorflow" else _common
    settings.register_profile("ci", derandomize=True, **_examples)
    settings.register_profile("dev", **_examples)
    _ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if _ci else "dev"))
