#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""validate_json.py SCHEMA DEF < response: validates one API response line
against $defs/DEF of docs/api.schema.json (Draft 2020-12). Exit 0 if valid."""
import json
import sys

import jsonschema


def main():
    schema_path, definition = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    sub = {"$ref": "#/$defs/" + definition, "$defs": schema["$defs"]}
    doc = json.loads(sys.stdin.read())
    errors = list(jsonschema.Draft202012Validator(sub).iter_errors(doc))
    for e in errors[:10]:
        print("schema: %s at %s" % (e.message, list(e.absolute_path)), file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
