"""POST /predict of one model: admitted or refused at once, its body read within the limits,
then parsed, validated and predicted in a worker thread, a few requests at a time."""

import itertools
from collections.abc import Collection

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.requests import ClientDisconnect
from threadpoolctl import ThreadpoolController

from lifecycle.config import contract
from lifecycle.deployment import scoring
from lifecycle.deployment.api import predictions, request, responses
from lifecycle.deployment.api.limits import Admission, Limits, read_body, take_slot
from lifecycle.deployment.prediction_log import PredictionLog


class PredictEndpoint:
    """The state /predict keeps for one model: its request model, its predictor, the limits and
    who is inside. `described` are the data contract's columns: fields the model ignores, never
    taken for misspellings. With a `log`, every answer is logged before it is sent."""

    def __init__(self, model: object, rules: contract.Contract, threshold: float | None,
                 limits: Limits, described: Collection[str] = (),
                 log: PredictionLog | None = None) -> None:
        self.rules, self.limits, self.log = rules, limits, log
        self.request_model = request.request_model(rules, limits.max_instances)
        self.predict_rows = predictions.row_predictor(model, rules, threshold)
        self.known = {*rules.columns, *described}
        self.admission = Admission(limits.compute_slots, limits.max_waiting)
        self.threads = ThreadpoolController()

    async def answer(self, incoming: Request) -> Response:
        """Refused by its headers or a full queue at once; else answered in turn."""
        refusal = responses.refuse_by_headers(incoming.headers, self.limits.max_body_bytes)
        if refusal is not None:
            return refusal
        if not self.admission.enter():
            return responses.busy(self.admission.capacity)
        try:
            return await self.answer_in_turn(incoming)
        finally:
            self.admission.leave()

    async def answer_in_turn(self, incoming: Request) -> Response:
        """The body within its time and size, then the work once a slot is free."""
        try:
            with anyio.fail_after(self.limits.body_seconds):
                body = await read_body(incoming, self.limits.max_body_bytes)
        except TimeoutError:
            return responses.too_slow(self.limits.body_seconds)
        except ClientDisconnect:
            return responses.client_gone()
        if body is None:
            return responses.body_too_large(self.limits.max_body_bytes)
        borrower = object()
        if not await take_slot(self.admission.slots, borrower, incoming.receive):
            return responses.client_gone()
        try:
            return await anyio.to_thread.run_sync(self.compute, body)
        finally:
            self.admission.slots.release_on_behalf_of(borrower)

    def compute(self, body: bytes) -> Response:
        """Parse, count, validate and predict: a request's work, run in a worker thread."""
        limits = self.limits
        document, not_json = request.parse_json(body)
        if not_json:
            return responses.invalid([not_json], 1, limits.max_errors_shown)
        count = request.instance_count(document)
        if count > limits.max_instances:
            return responses.too_large(f"{count} instances; at most {limits.max_instances} per "
                                       f"request")
        unknown = request.field_names(document) - self.known
        if len(unknown) > limits.max_unknown_fields:
            return responses.too_large(f"{len(unknown)} distinct fields that are not columns of "
                                       f"the data contract; at most {limits.max_unknown_fields} "
                                       f"per request")
        return self.predicted(document, unknown)

    def predicted(self, document: object, unknown: set[str]) -> Response:
        """422 naming every field that breaks the contract or looks like a misspelt input;
        else the predictions, with a warning per value outside a soft range."""
        shown = self.limits.max_errors_shown
        misspelt = request.misspelt_errors(
            document, scoring.misspelt_inputs(unknown, self.rules.columns, ()))
        try:
            validated = self.request_model.model_validate(document, from_attributes=True)
        except ValidationError as error:
            return responses.invalid(itertools.chain(misspelt, request.body_errors(error)),
                                     len(misspelt) + error.error_count(), shown)
        if misspelt:
            return responses.invalid(misspelt, len(misspelt), shown)
        # One OpenMP thread per request: spinning up threads for a few rows made single-row
        # latency 10-20 times worse.
        records = [row.__dict__ for row in validated.instances]
        with self.threads.limit(limits=1, user_api="openmp"):
            answer = self.predict_rows(records)
        warnings = responses.range_warnings(records, self.rules)
        headers = {}
        if self.log is not None:
            try:
                headers["X-Request-ID"] = self.log.write(records, answer)
            except OSError as error:
                # An answer the log cannot hold is not given: the log is the audit trail.
                return responses.log_unavailable(error)
        return JSONResponse({**answer, **responses.listed_warnings(warnings, shown)},
                            headers=headers)
