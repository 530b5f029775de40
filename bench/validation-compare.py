#!/usr/bin/env python3
"""Times jsonschema-rs on the same document and schema as validation-bench (format validation on).

CPU time per operation (time.process_time_ns) over many iterations:
  parse            json.loads(text)
  validate         validator.is_valid(instance)
  validate, errors list(validator.iter_errors(instance))
  parse + validate validator.is_valid(json.loads(text))
Needs `pip install jsonschema-rs`.
"""
import json
import os
import sys
import time

try:
    import jsonschema_rs
except ImportError:
    sys.exit("validation-compare.py: jsonschema-rs is missing (pip install jsonschema-rs)")

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validation")
SECONDS = float(os.environ.get("BENCH_SECONDS", "1.0"))


def measure(body):
    for _ in range(1000):
        body()
    iterations = 0
    batch = 1000
    start = time.process_time_ns()
    elapsed = 0
    while elapsed < SECONDS * 1e9:
        for _ in range(batch):
            body()
        iterations += batch
        elapsed = time.process_time_ns() - start
        batch = min(batch * 2, 100_000)
    return elapsed / iterations, iterations


def main():
    with open(os.path.join(HERE, "flight.json"), encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(HERE, "flight-schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    instance = json.loads(text)
    if not validator.is_valid(instance):
        sys.exit("validation-compare.py: the flight is invalid for jsonschema-rs")
    version = getattr(jsonschema_rs, "__version__", "")
    print(f"jsonschema-rs {version}: {len(text.encode())}-byte flight document, CPU time per operation ({SECONDS} s per line)")
    rows = [
        ("parse (json.loads)", lambda: json.loads(text)),
        ("validate, is_valid", lambda: validator.is_valid(instance)),
        ("validate, iter_errors", lambda: list(validator.iter_errors(instance))),
        ("parse + validate", lambda: validator.is_valid(json.loads(text))),
    ]
    for name, body in rows:
        ns, iterations = measure(body)
        print(f"{name:<36} {ns:9.0f} ns/op  ({iterations} iterations)")


if __name__ == "__main__":
    main()
