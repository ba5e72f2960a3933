#!/usr/bin/env python3
"""Checks the protocol spec in this directory: schemas, test vectors, frame vectors and examples.

    python3 Protocol/check.py               # check everything; exit status 1 on any problem
    python3 Protocol/check.py --fix-frames  # rewrite each vector's frameHex from its json, then check

What is checked:
  1. every schemas/*.schema.json is a valid JSON Schema (draft 2020-12) and all $refs resolve;
  2. every vectors/*.json has name, description, kind ("request" | "server"), json and frameHex;
     its json text validates against request.schema.json or server-message.schema.json;
     the json text is canonical (compact, keys sorted by code point, '/' and non-ASCII unescaped),
     i.e. equal to json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False);
     frameHex is the lowercase hex of the 4-byte big-endian length of the UTF-8 text followed by it;
  3. every vectors/frames/*.json has name, description, bytesHex and expect ({"error": CODE} or
     {"closed": true}), and expect is what the framing rules of README.md give for those bytes
     (including the limit of 512 levels of JSON nesting);
  4. every line of examples/*.jsonl is canonical and its message validates against its schema;
  5. when the Swift sources are next to this directory (../Sources/OrchestratorProtocol), the schemas
     agree with them: operations, error codes, enum values, event and command types, and the fields of
     every Codable struct (names, and required = non-optional); README.md names every one of them.

Needs Python 3.9+ and the jsonschema package (4.18 or later: pip install jsonschema).
"""
import ast
import json
import pathlib
import re
import sys

try:
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError:  # pragma: no cover
    sys.exit("check.py needs the jsonschema package (4.18 or later): python3 -m pip install jsonschema")

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
VECTORS = HERE / "vectors"
FRAMES = VECTORS / "frames"
EXAMPLES = HERE / "examples"
SWIFT = HERE.parent / "Sources" / "OrchestratorProtocol"
GENERATOR = HERE.parent / "Scripts" / "dev" / "generate-operations.py"
DEFAULT_MAXIMUM_FRAME_LENGTH = 4 * 1024 * 1024
MAXIMUM_NESTING_DEPTH = 512  # MessageCodec.maximumNestingDepth: deeper JSON is MALFORMED_FRAME

problems = []
passed = 0


def ok():
    global passed
    passed += 1


def problem(where, message):
    problems.append(f"{where}: {message}")


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def frame_hex(text):
    body = text.encode("utf-8")
    return (len(body).to_bytes(4, "big") + body).hex()


def rel(path):
    try:
        return str(path.relative_to(HERE.parent))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------- schemas

def load_schemas():
    schemas = {}
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problem(rel(path), f"cannot read: {error}")
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as error:
            problem(rel(path), f"not a valid draft 2020-12 schema: {error.message}")
            continue
        if "$id" not in schema:
            problem(rel(path), "has no $id")
            continue
        schemas[path.name] = schema
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)))
        ok()
    registry = Registry().with_resources(resources)
    return schemas, registry


def check_refs(schemas, registry):
    """Resolves every $ref of every schema, so a typo fails here rather than in some later validation."""
    for name, schema in schemas.items():
        resolver = registry.resolver(base_uri=schema["$id"])
        refs = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str):
                    refs.append(node["$ref"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schema)
        bad = []
        for ref in sorted(set(refs)):
            try:
                resolver.lookup(ref)
            except Exception as error:  # referencing raises several types
                bad.append(f"{ref} ({type(error).__name__})")
        if bad:
            problem(f"Protocol/schemas/{name}", "unresolvable $ref: " + ", ".join(bad))
        else:
            ok()


def validator(schemas, registry, name):
    schema = schemas.get(name)
    if schema is None:
        return None
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validation_errors(v, instance):
    errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
    out = []
    for error in errors:
        # Report the innermost reasons of if/then and allOf failures.
        leaves = [error]
        while leaves and any(leaf.context for leaf in leaves):
            leaves = [c for leaf in leaves for c in (leaf.context or [leaf])]
        for leaf in leaves:
            path = "/".join(str(p) for p in leaf.absolute_path) or "(root)"
            out.append(f"at {path}: {leaf.message}")
    return out


# --------------------------------------------------------------------------------------------- vectors

def check_vectors(validators, fix_frames):
    files = sorted(VECTORS.glob("*.json"))
    if not files:
        problem(rel(VECTORS), "no vectors found")
    names = set()
    for path in files:
        where = rel(path)
        try:
            vector = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problem(where, f"cannot read: {error}")
            continue
        if not isinstance(vector, dict):
            problem(where, "a vector file must hold one JSON object")
            continue
        missing = [k for k in ("name", "description", "kind", "json", "frameHex") if k not in vector]
        if missing:
            problem(where, "missing " + ", ".join(missing))
            continue
        name, kind, text = vector["name"], vector["kind"], vector["json"]
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
            problem(where, f"name {name!r} must be lower-case words joined by '-'")
        elif not path.stem.endswith(name):
            problem(where, f"the file name should end with the vector's name {name!r}")
        if name in names:
            problem(where, f"duplicate vector name {name!r}")
        names.add(name)
        if kind not in ("request", "server"):
            problem(where, f"kind must be 'request' or 'server', not {kind!r}")
            continue
        if not isinstance(text, str):
            problem(where, "json must be a string holding the JSON text")
            continue
        try:
            message = json.loads(text)
        except ValueError as error:
            problem(where, f"json is not valid JSON: {error}")
            continue
        expected_text = canonical(message)
        if text != expected_text:
            problem(where, f"json is not canonical; expected:\n    {expected_text}")
        else:
            ok()
        if re.search(r"[0-9](\.[0-9]+)?[eE]|[0-9]\.[0-9]", text) and _has_float(message):
            problem(where, "json holds a non-integral number; encoders format doubles differently, keep vectors integral")
        expected_hex = frame_hex(text)
        if fix_frames and vector["frameHex"] != expected_hex:
            vector["frameHex"] = expected_hex
            path.write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        if vector["frameHex"] != expected_hex:
            problem(where, f"frameHex does not match the json text (run check.py --fix-frames); expected {expected_hex[:16]}…")
        else:
            ok()
        v = validators["request" if kind == "request" else "server"]
        if v is None:
            continue
        errors = validation_errors(v, message)
        if errors:
            problem(where, "does not validate against the " + kind + " schema:\n    " + "\n    ".join(errors))
        else:
            ok()


def _has_float(value):
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def expected_frame_outcome(data, maximum=DEFAULT_MAXIMUM_FRAME_LENGTH):
    """What the framing rules of README.md say the server does with these bytes, sent as the first
    frame after a successful hello and followed by the client closing its side."""
    if len(data) < 4:
        return {"closed": True}
    length = int.from_bytes(data[:4], "big")
    if length == 0:
        return {"error": "MALFORMED_FRAME"}
    if length > maximum:
        return {"error": "FRAME_TOO_LARGE"}
    body = data[4:4 + length]
    if len(body) < length:
        return {"closed": True}
    if nesting_depth(body) > MAXIMUM_NESTING_DEPTH:
        return {"error": "MALFORMED_FRAME"}
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {"error": "MALFORMED_FRAME"}
    if not isinstance(message, dict):
        return {"error": "MALFORMED_FRAME"}
    identifier = message.get("id")
    if isinstance(identifier, bool) or not isinstance(identifier, (int, float)) or identifier != int(identifier) \
            or not 1 <= int(identifier) <= 2**64 - 1:
        return {"error": "MALFORMED_FRAME"}
    if not isinstance(message.get("op"), str):
        return {"error": "MALFORMED_FRAME"}
    return {"request": True}


def nesting_depth(body):
    """How deeply arrays and objects nest in JSON text, brackets inside strings not counted (as MessageCodec counts)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def check_frames(known_codes):
    files = sorted(FRAMES.glob("*.json"))
    if not files:
        problem(rel(FRAMES), "no frame vectors found")
    for path in files:
        where = rel(path)
        try:
            vector = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            problem(where, f"cannot read: {error}")
            continue
        missing = [k for k in ("name", "description", "bytesHex", "expect") if k not in vector]
        if missing:
            problem(where, "missing " + ", ".join(missing))
            continue
        hex_text, expect = vector["bytesHex"], vector["expect"]
        if not isinstance(hex_text, str) or not re.fullmatch(r"([0-9a-f]{2})*", hex_text):
            problem(where, "bytesHex must be lower-case hex with an even number of digits")
            continue
        if expect not in ({"closed": True},) and not (
                isinstance(expect, dict) and list(expect) == ["error"] and isinstance(expect["error"], str)):
            problem(where, 'expect must be {"error": "CODE"} or {"closed": true}')
            continue
        if "error" in expect and known_codes and expect["error"] not in known_codes:
            problem(where, f"unknown error code {expect['error']}")
            continue
        actual = expected_frame_outcome(bytes.fromhex(hex_text))
        if actual != expect:
            problem(where, f"the framing rules give {actual}, the vector expects {expect}")
        else:
            ok()


def check_examples(validators):
    for path in sorted(EXAMPLES.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{rel(path)}:{number}"
            try:
                entry = json.loads(line)
            except ValueError as error:
                problem(where, f"not JSON: {error}")
                continue
            if line != canonical(entry):
                problem(where, "line is not canonical JSON")
            if entry.get("direction") not in ("client", "server") or "message" not in entry:
                problem(where, 'needs "direction" ("client" | "server") and "message"')
                continue
            v = validators["request" if entry["direction"] == "client" else "server"]
            if v is None:
                continue
            errors = validation_errors(v, entry["message"])
            if errors:
                problem(where, "message does not validate:\n    " + "\n    ".join(errors))
            else:
                ok()


# --------------------------------------------------------------------------------------------- drift

def swift_text(name):
    path = SWIFT / name
    return path.read_text(encoding="utf-8") if path.exists() else None


def swift_enum(text, enum_name):
    match = re.search(r"public enum " + enum_name + r"\s*:\s*String[^{]*\{(.*?)\n}", text, re.S)
    if not match:
        return None
    return re.findall(r'case \w+ = "([^"]+)"', match.group(1))


def swift_structs():
    """Codable public structs of the protocol module: name -> {field: optional?}."""
    structs = {}
    for path in sorted(SWIFT.glob("*.swift")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^public struct (\w+)\s*:([^{]*)\{(.*?)^}", text, re.S | re.M):
            name, conformances, body = match.groups()
            if "Codable" not in conformances:
                continue
            fields = {}
            for field in re.finditer(r"^    (?:public |private |internal )?var (\w+): ([^={\n]+?)\s*(\{|=|$)", body, re.M):
                field_name, field_type, after = field.groups()
                if after == "{":
                    continue  # a computed property
                fields[field_name] = field_type.strip().endswith("?")
            structs[name] = fields
    return structs


def check_drift(schemas):
    if not SWIFT.is_dir():
        print(f"note: {rel(SWIFT)} not found; skipping the comparison with the Swift sources")
        return
    common = schemas.get("common.schema.json", {}).get("$defs", {})
    history = schemas.get("history.schema.json", {}).get("$defs", {})
    commands = schemas.get("commands.schema.json", {}).get("$defs", {})
    operations = schemas.get("operations.schema.json", {}).get("$defs", {})
    all_defs = {**common, **history, **commands, **operations}
    readme = (HERE / "README.md").read_text(encoding="utf-8") if (HERE / "README.md").exists() else ""

    def same(where, label, swift_values, schema_values):
        if swift_values is None:
            problem(where, f"cannot find {label} in the Swift sources")
        elif list(swift_values) != list(schema_values or []):
            problem(where, f"{label}: Swift has {swift_values}, the schema has {schema_values}")
        else:
            ok()

    def in_readme(label, names):
        missing = [n for n in names if f"`{n}`" not in readme]
        if missing:
            problem("Protocol/README.md", f"does not mention these {label}: {', '.join(missing)}")
        else:
            ok()

    # Operations: the generator's table is the source of Operations.swift.
    if GENERATOR.exists():
        tree = ast.parse(GENERATOR.read_text(encoding="utf-8"))
        table = None
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "OPERATIONS" for t in node.targets):
                table = ast.literal_eval(node.value)
        if table is None:
            problem(rel(GENERATOR), "no OPERATIONS table found")
        else:
            ops = [row[0] for row in table]
            same("Protocol/schemas/operations.schema.json", "operation names", ops, operations.get("OperationName", {}).get("enum"))
            request = schemas.get("request.schema.json", {})
            server = schemas.get("server-message.schema.json", {})
            body_of = {b["if"]["properties"]["op"]["const"]: b["then"]["properties"]["body"]["$ref"].split("/")[-1]
                       for b in request.get("$defs", {}).get("RequestMessage", {}).get("allOf", [])}
            result_of = {b["if"]["properties"]["op"]["const"]: b["then"]["properties"]["result"]["$ref"].split("/")[-1]
                         for b in server.get("$defs", {}).get("Response", {}).get("allOf", [])}
            for op, request_type, response_type, *_ in table:
                if body_of.get(op) != request_type:
                    problem("Protocol/schemas/request.schema.json", f"op {op} should bind body to {request_type}, binds {body_of.get(op)}")
                elif result_of.get(op) != response_type:
                    problem("Protocol/schemas/server-message.schema.json", f"op {op} should bind result to {response_type}, binds {result_of.get(op)}")
                else:
                    ok()
            in_readme("operations", ops)

    text = swift_text("ErrorCode.swift")
    if text is not None:
        codes = re.findall(r'static let `?\w+`? = ErrorCode\("([A-Z_]+)"\)', text)
        same("Protocol/schemas/common.schema.json", "error codes", codes, common.get("KnownErrorCode", {}).get("enum"))
        in_readme("error codes", codes)

    text = swift_text("MessageCodec.swift")
    if text is not None:
        match = re.search(r"maximumNestingDepth = (\d+)", text)
        same("Protocol/check.py", "the JSON nesting limit", [int(match.group(1))] if match else None, [MAXIMUM_NESTING_DEPTH])

    text = swift_text("Enums.swift")
    if text is not None:
        for enum_name in re.findall(r"public enum (\w+)\s*:\s*String", text):
            values = swift_enum(text, enum_name)
            same("Protocol/schemas/common.schema.json", f"enum {enum_name}", values, common.get(enum_name, {}).get("enum"))
            in_readme(f"{enum_name} values", values or [])

    text = swift_text("HistoryEvent.swift")
    if text is not None:
        values = swift_enum(text, "EventType")
        same("Protocol/schemas/history.schema.json", "event types", values, history.get("EventType", {}).get("enum"))
        in_readme("event types", values or [])
    text = swift_text("Command.swift")
    if text is not None:
        values = swift_enum(text, "CommandType")
        same("Protocol/schemas/commands.schema.json", "command types", values, commands.get("CommandType", {}).get("enum"))
        in_readme("command types", values or [])

    # Fields of every Codable struct. Swift optionals are optional members; the others are required.
    renamed = {"OrchestratorError": "Error"}
    not_objects = {"Timestamp", "ErrorCode"}
    special = {
        # Failure keeps its cause in a private one-element array but codes it as `cause`.
        "Failure": {"message": False, "type": True, "nonRetryable": True, "details": True, "stackTrace": True, "cause": True},
    }
    for swift_name, fields in sorted(swift_structs().items()):
        if swift_name in not_objects:
            continue
        fields = special.get(swift_name, fields)
        schema_name = renamed.get(swift_name, swift_name)
        schema = all_defs.get(schema_name)
        where = "Protocol/schemas"
        if schema is None:
            problem(where, f"no definition for the Swift type {swift_name}")
            continue
        properties = set(schema.get("properties", {}))
        required = set(schema.get("required", []))
        if properties != set(fields):
            problem(where, f"{schema_name}: Swift fields {sorted(fields)}, schema properties {sorted(properties)}")
        elif required != {f for f, optional in fields.items() if not optional}:
            problem(where, f"{schema_name}: Swift non-optional fields {sorted(f for f, o in fields.items() if not o)}, "
                           f"schema required {sorted(required)}")
        else:
            ok()


# --------------------------------------------------------------------------------------------- main

def main():
    fix_frames = "--fix-frames" in sys.argv[1:]
    schemas, registry = load_schemas()
    for needed in ("request.schema.json", "server-message.schema.json"):
        if needed not in schemas:
            problem(f"Protocol/schemas/{needed}", "missing")
    check_refs(schemas, registry)
    validators = {
        "request": validator(schemas, registry, "request.schema.json"),
        "server": validator(schemas, registry, "server-message.schema.json"),
    }
    known_codes = set(schemas.get("common.schema.json", {}).get("$defs", {}).get("KnownErrorCode", {}).get("enum", []))
    check_vectors(validators, fix_frames)
    check_frames(known_codes)
    check_examples(validators)
    check_drift(schemas)
    if problems:
        print(f"Protocol/check.py found {len(problems)} problem(s):", file=sys.stderr)
        for text in problems:
            print("  - " + text, file=sys.stderr)
        print(f"protocol spec checks: {passed} passed, {len(problems)} failed")
        return 1
    print(f"protocol spec checks: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
