"""The registry of methods, `keras_cutmix.methods.ALL`: every method has its layer, function, docs and benchmark."""

import ast
import inspect
import pathlib
import re

import numpy as np
import pytest

import keras_cutmix
from keras_cutmix import inputs, layers, methods

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALL = methods.ALL


def _table_rows(page, heading):
    """The first column of the table under `heading` in docs/`page`, backticks stripped."""
    text = (ROOT / "docs" / page).read_text()
    section = text.split(heading, 1)[1]
    table = re.search(r"((?:^\|.*\n)+)", section, re.M).group(1)
    return [row.split("|")[1].strip().strip("`") for row in table.splitlines()[2:]]


@pytest.mark.once
@pytest.mark.parametrize("method", ALL, ids=lambda m: m.name())
def test_every_method_has_its_layer_and_function(method):
    layer = getattr(layers, method.name())
    assert layer is getattr(keras_cutmix, method.name()) and layer.options_class is method
    function = getattr(keras_cutmix, method.function_name)
    assert function is getattr(keras_cutmix.functional, method.function_name) and function.options_class is method
    # The function's signature names every option of the method, keyword-only.
    parameters = inspect.signature(function).parameters
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in method.option_names())
    assert {method.name(), method.function_name} <= set(keras_cutmix.__all__)


@pytest.mark.once
def test_the_registry_is_every_layer_and_function_of_the_package():
    registered = {method.name() for method in ALL}
    mixers = {
        name
        for name, value in vars(keras_cutmix).items()
        if isinstance(value, type) and issubclass(value, layers.MixLayer) and name != "MixLayer"
    }
    assert mixers == registered
    functions = {name for name, value in vars(keras_cutmix.functional).items() if hasattr(value, "options_class")}
    assert functions == {method.function_name for method in ALL}
    assert {m.name() for m in methods.ALL if m.blends} == {"MixUp", "CutMixOrMixUp", "ResizeMix"}


@pytest.mark.once
def test_every_method_is_in_the_docs():
    names = [method.name() for method in ALL]
    # docs/architecture.md's table of options classes and docs/options.md's of each method's options.
    assert _table_rows("architecture.md", "## A method is one options class") == [f"{n}Options" for n in names]
    assert [row for row in _table_rows("options.md", "## Each method's own") if row] == names
    api = (ROOT / "docs" / "api.md").read_text()
    for method in ALL:
        assert f"::: keras_cutmix.{method.name()}\n" in api
        assert f"::: keras_cutmix.{method.function_name}\n" in api
    readme = (ROOT / "README.md").read_text()
    assert all(name in readme for name in names)


@pytest.mark.once
def test_every_method_is_benchmarked():
    # Read, not imported: bench.py is a script. CutMix is its subject; the others are its METHODS.
    tree = ast.parse((ROOT / "benchmarks" / "bench.py").read_text())
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    if "METHODS" in assigned and isinstance(assigned["METHODS"], ast.Tuple):
        benchmarked = {"CutMix", *ast.literal_eval(assigned["METHODS"])}
        assert benchmarked == {method.name() for method in ALL}
    else:  # bench.py reads the registry itself
        assert "methods.ALL" in (ROOT / "benchmarks" / "bench.py").read_text()


@pytest.mark.once
@pytest.mark.parametrize("method", ALL, ids=lambda m: m.name())
def test_unsupported_targets_name_the_methods_that_support_them(method):
    images = np.zeros((2, 8, 8, 3), "float32")
    targets = {
        inputs.SEGMENTATION_MASKS: np.zeros((2, 8, 8), "int32"),
        inputs.BOUNDING_BOXES: {"boxes": np.zeros((2, 1, 4), "float32"), "labels": np.zeros((2, 1), "int32")},
    }
    for key, value in targets.items():
        if key in method.targets:
            continue
        supporting = [m.name() for m in ALL if key in m.targets]
        with pytest.raises(ValueError, match=re.escape(key)) as error:
            getattr(keras_cutmix, method.function_name)({"images": images, key: value}, seed=0)
        message = str(error.value)
        # The message's "use ..." names exactly the methods that declare the target (CutMixOrMixUp used to
        # name itself for masks).
        advised = re.findall(r"\b(" + "|".join(m.name() for m in ALL) + r")\b", message.split("use ", 1)[1])
        assert sorted(advised) == sorted(supporting) and method.name() not in advised, message
