"""Label and field selectors, as the API server parses them."""


def label_selector_fn(sel):
    """Equality-based label selector: k=v, k==v, k!=v, k, !k, comma-AND."""
    if not sel:
        return lambda labels: True
    terms = []
    for part in sel.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            terms.append(("ne", k.strip(), v.strip()))
        elif "==" in part:
            k, v = part.split("==", 1)
            terms.append(("eq", k.strip(), v.strip()))
        elif "=" in part:
            k, v = part.split("=", 1)
            terms.append(("eq", k.strip(), v.strip()))
        elif part.startswith("!"):
            terms.append(("absent", part[1:].strip(), None))
        elif " in " in part or " notin " in part or "(" in part:
            raise ValueError("unable to parse requirement: %s" % part)
        else:
            terms.append(("exists", part, None))

    def f(labels):
        labels = labels or {}
        for op, k, v in terms:
            if op == "eq" and labels.get(k) != v:
                return False
            if op == "ne" and labels.get(k) == v:
                return False
            if op == "exists" and k not in labels:
                return False
            if op == "absent" and k in labels:
                return False
        return True
    return f


def field_selector_fn(sel, resource):
    if not sel:
        return lambda obj: True
    terms = []
    for part in sel.split(","):
        if not part:
            continue
        neg = "!=" in part
        k, v = part.split("!=" if neg else ("==" if "==" in part else "="), 1)
        k = k.strip()
        allowed = {"metadata.name", "metadata.namespace"}
        if resource == "pods":
            allowed |= {"status.phase", "spec.nodeName"}
        if k not in allowed:
            raise ValueError('"%s" is not a known field selector: only "metadata.name", "metadata.namespace"' % k)
        terms.append((k, v.strip(), neg))

    def get(obj, path):
        for p in path.split("."):
            obj = (obj or {}).get(p)
        return obj

    def f(obj):
        for k, v, neg in terms:
            if (get(obj, k) == v) == neg:
                return False
        return True
    return f


def selector_matches(selector, labels):
    """A metav1.LabelSelector (matchLabels, matchExpressions) against labels; an empty
    selector matches everything, as LabelSelectorAsSelector makes it."""
    labels = labels or {}
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(EXPRESSIONS.get(e.get("operator"), lambda l, k, vs: False)(labels, e.get("key"), e.get("values") or [])
               for e in selector.get("matchExpressions") or [])


EXPRESSIONS = {"In": lambda l, k, vs: k in l and l[k] in vs,
               "NotIn": lambda l, k, vs: k not in l or l[k] not in vs,
               "Exists": lambda l, k, vs: k in l,
               "DoesNotExist": lambda l, k, vs: k not in l}
