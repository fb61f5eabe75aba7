"""Errors as RFC 9457 problem details (`application/problem+json`), everywhere.

One body for every error the ingress answers: `type`, `title`, `status`, `detail`, and `errors`
(one entry per field) when a request does not validate. `install(app)` registers the handlers
and makes the OpenAPI document say so; routes declare which errors they can answer with
`responses(...)`, from the one table below, so a generated client knows every body it meets.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

MEDIA_TYPE = "application/problem+json"
# A problem with no more specific type than its status (RFC 9457, section 4.2.1).
BLANK = "about:blank"
VALIDATION = "urn:switchboard:problem:validation"


class FieldProblem(BaseModel):
    location: list[str | int] = Field(
        description="where: `body`, `query`, `path` or `header`, then the field's path"
    )
    message: str
    type: str = Field(description="a stable code, e.g. `missing`, `string_too_short`")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(default=BLANK, description="a URI naming the kind of problem")
    title: str = Field(description="the kind of problem, the same for every occurrence")
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="this occurrence, in words; never personal data")
    errors: list[FieldProblem] | None = Field(
        default=None, description="the fields that do not validate (status 422)"
    )


class ProblemError(Exception):
    """An error with a type of its own (rate limited, an idempotency key reused…)."""

    def __init__(
        self,
        status: int,
        detail: str,
        type_: str,
        headers: dict[str, str] | None = None,
        errors: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.type, self.headers = status, detail, type_, headers
        self.errors = errors


def invalid_field(location: tuple[str | int, ...], message: str) -> ProblemError:
    """422 for a field the schema allows but the API cannot take (only it can know)."""
    problem = FieldProblem(location=list(location), message=message, type="value_error")
    return ProblemError(422, message, VALIDATION, errors=[problem])


def problem_response(
    status: int,
    detail: str,
    type_: str = BLANK,
    headers: dict[str, str] | None = None,
    errors: list[FieldProblem] | None = None,
) -> JSONResponse:
    body = Problem(
        type=type_, title=HTTPStatus(status).phrase, status=status, detail=detail, errors=errors
    )
    return JSONResponse(
        body.model_dump(exclude_none=True), status, headers=headers, media_type=MEDIA_TYPE
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed(request)
    return problem_response(exc.status_code, detail, headers=headers)


def _allowed(request: Request) -> str:
    """Every method of the path: Starlette names only those of the first route that matched."""
    methods = {
        method
        for route in request.app.router.routes
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE
        for method in getattr(route, "methods", None) or ()
    }
    return ", ".join(sorted(methods))


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldProblem(
            location=[str(part) if not isinstance(part, int) else part for part in e["loc"]],
            message=str(e["msg"]),
            type=str(e["type"]),
        )
        for e in exc.errors()
    ]
    return problem_response(
        422, "the request does not validate: see errors", VALIDATION, errors=errors
    )


def _typed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, exc.type, exc.headers, exc.errors)


# What each error status means at this API, for the document. Routes pick theirs by status.
COMMON: dict[int, str] = {
    400: "malformed: the detail says what is wrong",
    401: "no valid credentials (an API key or an OIDC token in `Authorization: Bearer …`)",
    403: "the credentials' role lacks the permission this operation needs",
    404: "no such resource",
    408: "the body did not arrive in time",
    409: "conflicts with the resource's current state",
    413: "the body is too large",
    415: "the body is not of the media type this operation takes",
    422: "the request does not validate (`errors` lists the fields), or an Idempotency-Key "
    "was reused with another request",
    429: "over the rate limit of the credential: retry after `Retry-After` seconds",
    502: "the provider did not take the message; the detail says why",
    503: "a service behind the ingress is unavailable: retry after `Retry-After` seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    429: {
        "Retry-After": {
            "description": "seconds until the window resets",
            "required": True,
            "schema": {"type": "integer"},
        },
        "RateLimit-Policy": {
            "description": 'the limit: `"<group>";q=<requests>;w=<seconds>`',
            "schema": {"type": "string"},
        },
        "RateLimit": {
            "description": 'what is left: `"<group>";r=<remaining>;t=<seconds to reset>`',
            "schema": {"type": "string"},
        },
    },
    503: {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}},
}
# Every API operation behind credentials can answer these.
AUTHENTICATED = (401, 403, 422, 429)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route or router: each status with its problem body."""
    return {
        status: {
            "description": COMMON[status],
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **({"headers": _HEADERS[status]} if status in _HEADERS else {}),
        }
        for status in statuses
    }


def _document(app: FastAPI) -> Callable[[], dict[str, Any]]:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, FieldProblem):
                schemas[model.__name__] = model.model_json_schema(
                    ref_template="#/components/schemas/{model}"
                )
            # FastAPI's own validation body is never sent: every 422 is a problem.
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    answers = operation.get("responses", {})
                    for status, answer in answers.items():
                        if status == "422" and "HTTPValidationError" in str(answer):
                            answer.clear()
                            answer.update(responses(422)[422])
                    # A body that does not parse (FastAPI's own 400), wherever one is taken.
                    if "requestBody" in operation and "400" not in answers:
                        answers["400"] = responses(400)[400]
            app.openapi_schema = schema
        return schema if (schema := app.openapi_schema) else {}

    return openapi


def install(app: FastAPI) -> None:
    """Answer every error as a problem, and document it so."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ProblemError, _typed)
    app.openapi = _document(app)  # type: ignore[method-assign]
