"""Checkov skips live in the resource's own metadata, one line of reason each."""


def skip_checkov(resource, **reasons: str):
    """Record `checkov.skip` entries on `resource`; keyword = check id, value = the reason."""
    if not reasons:
        raise ValueError("skip_checkov needs at least one CHECK_ID=reason")
    for check_id, reason in reasons.items():
        if not reason.strip():
            raise ValueError(f"checkov skip {check_id} on {resource.title} needs a reason")
    metadata = dict(getattr(resource, "Metadata", None) or {})
    skips = list(metadata.get("checkov", {}).get("skip", []))
    skips += [{"id": check_id, "comment": reason} for check_id, reason in sorted(reasons.items())]
    metadata["checkov"] = {"skip": skips}
    resource.Metadata = metadata
    return resource
