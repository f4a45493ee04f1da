"""A loaded model, whatever its flavor: ``predict`` on checked input and checked params."""

from __future__ import annotations

from typing import Any

from nbtrack.models.flavors import Predictor, takes_params
from nbtrack.models.params import ParamSpec, check_params, param_specs
from nbtrack.models.signatures import ColSpec, Signature, Spec


class PyFuncModel:
    """A model as ``load_model`` returns it.

    ``predict`` takes a DataFrame, a numpy array, records (a list of dicts) or a dict of
    columns, brings it to the model's signature (if it has one) and returns what the model
    returns. ``params`` are the inference params the signature declares (MLflow's
    ``signature.params``); a model whose ``predict`` takes ``params`` gets them checked, with
    defaults filled in. ``metadata`` is the parsed MLmodel, ``flavor`` the flavor that loaded it.

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
        self.params: tuple[ParamSpec, ...] = param_specs(metadata.get("signature"))
        self._takes_params = takes_params(predictor.predict)

    def check_params(self, params: object) -> dict[str, Any]:
        """``params`` as the signature declares them (defaults filled in); an error names
        what is not accepted. Params the signature does not declare are refused."""
        return check_params(self.params, params)

    def predict(self, data: object, params: dict[str, Any] | None = None) -> Any:
        """The model's predictions for ``data``, checked against the signature first."""
        # Imported here: it needs pandas, which importing nbtrack does not load.
        from nbtrack.models.enforcement import enforce

        enforced = enforce(self.signature, data)
        checked = self.check_params(params)
        if self._takes_params:
            return self._predictor.predict(enforced, params=checked)  # type: ignore[call-arg]
        return self._predictor.predict(enforced)

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
