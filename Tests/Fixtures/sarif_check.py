"""Validates a SARIF log (stdin) with sarif-pydantic, models of the OASIS SARIF 2.1.0 schema from
PyPI, and, stricter than the models alone (which keep unknown properties), refuses every property
that is not SARIF 2.1.0's: a misspelt `ruleID` or `helpText` would be ignored by code scanning.
Prints `valid`, or the properties that are not SARIF's."""
import json
import sys

from pydantic import BaseModel
from sarif_pydantic import Sarif

# SARIF 2.1.0 properties the models lack (section of the OASIS standard):
# invocation.toolExecutionNotifications (3.20.21).
KNOWN_TO_THE_STANDARD = {"toolExecutionNotifications"}

log = Sarif.model_validate(json.load(sys.stdin))
unknown = []


def walk(value, path):
    if isinstance(value, BaseModel):
        if not path.endswith(".properties"):       # property bags hold anything (3.8)
            unknown.extend(path + "." + key for key in (value.model_extra or {}) if key not in KNOWN_TO_THE_STANDARD)
        for name in type(value).model_fields:
            walk(getattr(value, name), path + "." + name)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            walk(item, "%s[%d]" % (path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            walk(item, path + "." + key)


walk(log, "$")
print("not SARIF 2.1.0 properties: " + ", ".join(unknown) if unknown else "valid")
