import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {BACKEND}"


@pytest.fixture(autouse=True)
def _restore_global_keras_state():
    policy = keras.config.dtype_policy()
    data_format = keras.config.image_data_format()
    yield
    keras.config.set_dtype_policy(policy)
    keras.config.set_image_data_format(data_format)
