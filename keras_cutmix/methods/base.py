"""`MixOptions`: a method's validated options, its draw and its transforms.

Each method (one file in this folder) is a frozen dataclass of its options,
each declared with `option(default, check)` and checked in `__post_init__`.
It owns what it does: `sample` draws a `MixParams` from a seed (composing
the primitives of `sampling`), and `transform_images`,
`transform_segmentation_masks`, `transform_bounding_boxes` and
`transform_labels` apply one draw to each target, as Keras' preprocessing
layers own `transform_*`. The layers, the functions and `CutMixModel` all
run these through `pipeline.apply_mix`."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from keras_cutmix import inputs, labels, validation
from keras_cutmix.sampling import MixParams

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class MixOptions:
    """Options shared by every method; the layers document their meaning."""

    probability: float = 1.0
    mode: str = "batch"
    num_classes: Any = None
    label_smoothing: float = 0.0
    data_format: str | None = None
    # Every Keras image preprocessing layer takes it; used by the methods
    # that move boxes (CutMix), validated by all.
    bounding_box_format: str | None = None

    # What the registry (`methods.ALL`) tells its readers. The functional
    # form's name ("cutmix"); the layer is named `name()`.
    function_name: ClassVar[str] = ""
    # The targets besides images and labels that the method transforms.
    targets: ClassVar[tuple[str, ...]] = ()
    # Whether labels follow the pixels (Cutout: no, they are only made dense).
    mixes_labels: ClassVar[bool] = True
    # Whether pixels are blended (weighted sums), not only selected: XLA's
    # fusion would move their last bit, so eager JAX runs them op by op (`_compiled`).
    blends: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self._set("probability", validation.check_number("probability", self.probability, low=0.0, high=1.0))
        self._set(
            "label_smoothing", validation.check_number("label_smoothing", self.label_smoothing, low=0.0, high=1.0)
        )
        validation.check_choice("mode", self.mode, validation.MODES)
        self._set("num_classes", validation.check_num_classes(self.num_classes))
        self._set("data_format", validation.check_data_format(self.data_format))
        if self.bounding_box_format is not None:
            validation.check_bounding_box_format(self.bounding_box_format)
        # Each method's own options, declared with `option`, by their checks.
        for field in dataclasses.fields(self):
            check = field.metadata.get("check")
            if check is not None:
                self._set(field.name, check(field.name, getattr(self, field.name)))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @classmethod
    def name(cls) -> str:
        """The method's name, as its layer is called."""
        return cls.__name__.removesuffix("Options")

    @classmethod
    def option_fields(cls) -> list[dataclasses.Field]:
        """The options, the method's own first, then those every method shares."""
        shared = {field.name for field in dataclasses.fields(MixOptions)}
        fields = dataclasses.fields(cls)
        return [f for f in fields if f.name not in shared] + [f for f in fields if f.name in shared]

    @classmethod
    def option_names(cls) -> list[str]:
        return [field.name for field in cls.option_fields()]

    @classmethod
    def signature_parameters(cls) -> list[inspect.Parameter]:
        """The options as keyword-only parameters with their defaults."""
        return [
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
            for f in cls.option_fields()
        ]

    def config(self) -> dict:
        """The options as constructor arguments (JSON-friendly)."""
        values = {name: getattr(self, name) for name in self.option_names()}
        return {name: list(v) if isinstance(v, tuple) else v for name, v in values.items()}

    def check_targets(self, data: dict) -> None:
        """Raise for a target of `data` that the method cannot transform."""
        for key in (inputs.SEGMENTATION_MASKS, inputs.BOUNDING_BOXES):
            if key in data and key not in self.targets:
                raise ValueError(self.unsupported(key))

    def unsupported(self, key: str) -> str:
        """The error for a `key` (a target) the method cannot transform."""
        return f"`{key}` are not supported by {self.name()}: remove them from the input or use {supporting(key)}."

    # What one draw does to each target.

    def sample(self, seed: Any, batch_size: Any, height: Any, width: Any, probability: Any) -> MixParams:
        raise NotImplementedError

    def transform_images(self, images: Any, params: MixParams) -> Any:
        raise NotImplementedError

    def transform_segmentation_masks(self, masks: Any, params: MixParams) -> Any:
        return masks

    def transform_bounding_boxes(self, bounding_boxes: dict, params: MixParams, height: Any, width: Any) -> dict:
        raise ValueError(self.unsupported(inputs.BOUNDING_BOXES))

    def transform_labels(self, dense_labels: Any, params: MixParams) -> Any:
        if not self.mixes_labels:
            return dense_labels
        return labels.mix_labels(dense_labels, params.partner, params.partner_weight)


def option(default: Any, check: Callable[..., Any], *, optional: bool = False, **limits: Any) -> Any:
    """A method's option: its default, and the check `check(name, value, **limits)` that returns the value kept.

    With `optional`, None (the option off) is kept unchecked.
    """
    bound = functools.partial(check, **limits)
    checked = (lambda name, value: None if value is None else bound(name, value)) if optional else bound
    return dataclasses.field(default=default, metadata={"check": checked})


def supporting(key: str) -> str:
    """The registered methods that transform the target `key`, as in "CutMix or MixUp"."""
    from keras_cutmix.methods import ALL  # the registry imports every method, and they this module

    names = [method.name() for method in ALL if key in method.targets]
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def with_options(options_class: type[MixOptions]) -> Callable[[F], F]:
    """Give `function(..., **options)` the signature that names every option.

    The options are spelled once, as dataclass fields; `inspect.signature`,
    `help()` and the API docs show them keyword-only, with their defaults.
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        parameters = [*kept, *options_class.signature_parameters()]
        function.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return function

    return decorate
