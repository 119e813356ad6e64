"""Who may do what, in the OpenAPI document (docs/http.md, "Who may do what"): `secure(doc)`
gives every operation its security (bearer token or session cookie, or none for the open
routes) and its 401/403 answers, from the same table the web enforces (app.auth.rules),
and adds `GET /api/v1/audit`."""
from __future__ import annotations

import re

from app.auth import rules

ERR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API token (`roadmap token create NAME --role ROLE`), or with no [auth] the "
                              "[service] api_token_env token"},
    "session": {"type": "apiKey", "in": "cookie", "name": "roadmap_session",
                "description": "The signed session cookie set by /auth/callback after an OIDC sign-in"},
}
AUDIT = {
    "type": "object", "required": ["verified", "total", "entries"],
    "properties": {
        "verified": {"type": "boolean"}, "total": {"type": "integer"},
        "broken_at": {"type": ["integer", "null"]}, "problem": {"type": ["string", "null"]},
        "entries": {"type": "array", "items": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": {"type": "string"}, "who": {"type": "string"},
            "via": {"type": "string"}, "role": {"type": "string"}, "action": {"type": "string"},
            "object": {"type": "string"}, "outcome": {"type": "string"}, "request_id": {"type": "string"}},
            "required": ["seq", "at", "who", "via", "role", "action", "object", "outcome", "request_id"]}}}}
AUDIT_PATH = {"get": {
    "summary": "The audit log (admin): every write, sign-in and refusal, with `verified` true when its hash "
               "chain holds",
    "parameters": [{"name": "since", "in": "query", "required": False,
                    "schema": {"type": "string", "format": "date"}}],
    "responses": {"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/AuditLog"}}}},
                  "400": {"description": "since is not a date", "content": ERR}}}}


def secure(doc: dict) -> dict:
    from app.web.openapi import ERRORS
    audit = {"get": {**AUDIT_PATH["get"], "responses": {**ERRORS, **AUDIT_PATH["get"]["responses"]}}}
    doc["paths"].setdefault("/api/v1/audit", audit)
    comps = doc.setdefault("components", {})
    comps.setdefault("schemas", {})["AuditLog"] = AUDIT
    schemes = comps.setdefault("securitySchemes", {})
    if "bearer" in schemes:             # the no-[auth] story is told there already; add the [auth] one
        schemes["bearer"] = {**schemes["bearer"], "description": (schemes["bearer"].get("description", "") +
                             " With [auth]: an API token from `roadmap token create NAME --role ROLE`.").strip()}
    for name, scheme in SCHEMES.items():
        schemes.setdefault(name, scheme)
    for path, ops in doc["paths"].items():
        rule = re.sub(r"\{[^}]*\}", "<>", path)
        for method, op in ops.items():
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
                continue
            need, _action = rules.needed(method.upper(), rule)
            if need == rules.PUBLIC:
                op.setdefault("security", [])
                continue
            op["security"] = [{"bearer": []}, {"session": []}, {}]
            what = "any signed-in role" if need == "viewer" else f"the {need} role or above"
            op["description"] = (op.get("description", "") + f"\n\nNeeds {what} when [auth] is configured"
                                 + ("; with no [auth], a loopback client or the API token."
                                    if need != "viewer" else "; with no [auth], open.")).strip()
            responses = op.setdefault("responses", {})
            responses.setdefault("401", {"description": "Not signed in, or the token is unknown or revoked "
                                                        "(pages redirect to /login)", "content": ERR})
            responses.setdefault("403", {"description": f"Signed in without {what}, no role mapped, or a "
                                                        "cross-site write (a foreign Origin)", "content": ERR})
    return doc
