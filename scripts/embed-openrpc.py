#!/usr/bin/env python3
"""Writes Sources/ConvLogRPC/OpenRPCDocument.swift from schema/openrpc.json (the document rpc.discover serves)."""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
document = (root / "schema/openrpc.json").read_text()
json.loads(document)  # fail early on invalid JSON
swift = f'''import JSON

/// The OpenRPC description of the methods, served by `rpc.discover`.
///
/// Generated from `schema/openrpc.json` by `make openrpc`; a test keeps the two equal.
public enum OpenRPCDocument {{
    /// The document.
    public static let value: JSONValue = {{
        guard let value = try? JSONValue(parsing: Array(text.utf8)) else {{ preconditionFailure("OpenRPC document is not valid JSON") }}
        return value
    }}()

    static let text = ##"""
{document}"""##
}}
'''
(root / "Sources/ConvLogRPC/OpenRPCDocument.swift").write_text(swift)
