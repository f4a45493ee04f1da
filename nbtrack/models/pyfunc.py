"""A loaded model, whatever its flavor: ``predict`` on checked input."""

from __future__ import annotations

from typing import Any

from nbtrack.models.flavors import Predictor
from nbtrack.models.signatures import ColSpec, Signature, Spec


class PyFuncModel:
    """A model as ``load_model`` returns it.

    ``predict`` takes a DataFrame, a numpy array, records (a list of dicts) or a dict of
    columns, brings it to the model's signature (if it has one) and returns what the model
    returns. ``metadata`` is the parsed MLmodel, ``flavor`` the flavor that loaded it.

    Examples
    --------
    >>> model = load_model(path, expected_hashes=saved.payload_files)  # doctest: +SKIP
    >>> model.predict([{"x": 1.0, "n": 2}])  # doctest: +SKIP
    array([1])
    """

    def __init__(
        self,
        predictor: Predictor,
        metadata: dict[str, Any],
        flavor: str,
        signature: Signature | None,
    ) -> None:
        self._predictor = predictor
        self.metadata = metadata
        self.flavor = flavor
        self.signature = signature

    def predict(self, data: object) -> Any:
        """The model's predictions for ``data``, checked against the signature first."""
        # Imported here: it needs pandas, which importing nbtrack does not load.
        from nbtrack.models.enforcement import enforce

        return self._predictor.predict(enforce(self.signature, data))

    def __repr__(self) -> str:
        inputs = self.signature.inputs if self.signature is not None else None
        if not inputs:
            return f"<PyFuncModel flavor={self.flavor!r}>"
        described = ", ".join(_described(spec) for spec in inputs)
        return f"<PyFuncModel flavor={self.flavor!r} inputs=({described})>"


def _described(spec: Spec) -> str:
    named = "" if spec.name is None else f"{spec.name}: "
    kind = spec.type if isinstance(spec, ColSpec) else f"tensor {spec.dtype}"
    return f"{named}{kind}"
