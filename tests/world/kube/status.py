"""Status objects, as kube-apiserver renders its errors."""


def status_obj(code, reason, message, details=None):
    o = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason}
    if details is not None:
        o["details"] = details
    o["code"] = code
    return o


def st_unauthorized():
    return status_obj(401, "Unauthorized", "Unauthorized")


def res_qualified(resource, group):
    return "%s.%s" % (resource, group) if group else resource


def st_not_found(resource, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = resource
    return status_obj(404, "NotFound", '%s "%s" not found' % (res_qualified(resource, group), name), d)


def st_path_not_found():
    return status_obj(404, "NotFound", "the server could not find the requested resource", {})


def st_method_not_allowed():
    return status_obj(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def st_forbidden(user, verb, resource, group, ns, name):
    rq = res_qualified(resource, group)
    subj = '%s "%s"' % (rq, name) if name else rq
    msg = '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" in the namespace "%s"' % (
        subj, user, verb, resource, group, ns)
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return status_obj(403, "Forbidden", msg, d)


def st_conflict(resource, group, name):
    d = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = resource
    return status_obj(409, "Conflict",
                      'Operation cannot be fulfilled on %s "%s": the object has been modified; '
                      'please apply your changes to the latest version and try again'
                      % (res_qualified(resource, group), name), d)


def st_too_many(retry_after):
    return status_obj(429, "TooManyRequests", "Too many requests, please try again later.",
                      {"retryAfterSeconds": int(retry_after)})


def st_internal(msg="injected fault"):
    return status_obj(500, "InternalError", "Internal error occurred: %s" % msg, {"causes": [{"message": msg}]})


def st_unavailable(retry_after=None):
    d = {} if retry_after is None else {"retryAfterSeconds": int(retry_after)}
    return status_obj(503, "ServiceUnavailable", "the server is currently unable to handle the request", d)


def st_bad_request(msg):
    return status_obj(400, "BadRequest", msg)


def st_unsupported_media(ct):
    return status_obj(415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types include: "
                      "application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml, application/strategic-merge-patch+json")


def st_invalid(kind, group, name, field, msg):
    return status_obj(422, "Invalid", '%s.%s "%s" is invalid: %s: %s' % (kind, group, name, field, msg),
                      {"name": name, "group": group, "kind": kind,
                       "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": field}]})


def st_fault(code, resource, group, name, retry_after):
    if code == 409:
        return st_conflict(resource, group, name or "")
    if code == 429:
        return st_too_many(retry_after or 1)
    if code == 500:
        return st_internal()
    if code == 503:
        return st_unavailable(retry_after)
    if code == 504:
        return status_obj(504, "Timeout", "Timeout: request did not complete within requested timeout - "
                          "context deadline exceeded", {})
    if code == 401:
        return st_unauthorized()
    if code == 404:
        return st_not_found(resource, group, name or "")
    return status_obj(code, "InternalError", "injected fault %d" % code)
