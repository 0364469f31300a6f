import JSON

/// The OpenRPC description of the methods, served by `rpc.discover`.
///
/// Generated from `schema/openrpc.json` by `make openrpc`; a test keeps the two equal.
public enum OpenRPCDocument {
    /// The document.
    public static let value: JSONValue = {
        guard let value = try? JSONValue(parsing: Array(text.utf8)) else { preconditionFailure("OpenRPC document is not valid JSON") }
        return value
    }()

    static let text = ##"""
{
  "openrpc": "1.3.2",
  "info": {
    "title": "convlog",
    "version": "0.2.0",
    "description": "Conversation memory for LLM orchestrators. JSON-RPC 2.0 over a Unix socket: one JSON text per line (UTF-8, '\\n'-terminated), batches and notifications supported. Parameters are by name only. Responses to deferred calls (create, add, updateContext, analyzeFollowUp) may arrive out of order on a connection; match them by id."
  },
  "methods": [
    {
      "name": "create",
      "summary": "Start a session.",
      "params": [
        { "name": "sessionId", "schema": { "$ref": "#/components/schemas/SessionId" }, "description": "Omitted: a UUID is generated." },
        { "name": "userId", "schema": { "type": "string", "minLength": 1, "maxLength": 128 } },
        { "name": "metadata", "schema": { "type": "object" } },
        { "name": "context", "schema": { "type": "object" }, "description": "The initial context, stored as a ContextUpdated (source client)." }
      ],
      "result": { "name": "created", "schema": { "type": "object", "required": ["sessionId", "createdAt", "version"], "properties": { "sessionId": { "$ref": "#/components/schemas/SessionId" }, "createdAt": { "type": "string", "format": "date-time" }, "version": { "type": "integer" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/SessionExists" }, { "$ref": "#/components/errors/PayloadTooLarge" } ]
    },
    {
      "name": "add",
      "summary": "Add a message. Idempotent by messageId: a retry returns the original result with duplicate true. Only the message is written (and a SessionCreated first, with createIfMissing); topic analysis is read-side work (getSession, analyzeFollowUp).",
      "params": [
        { "name": "sessionId", "required": true, "schema": { "$ref": "#/components/schemas/SessionId" } },
        { "name": "role", "required": true, "schema": { "enum": ["user", "assistant", "system", "tool"] } },
        { "name": "content", "required": true, "schema": { "oneOf": [ { "type": "string" }, { "type": "object" }, { "type": "array" } ] } },
        { "name": "metadata", "schema": { "type": "object" } },
        { "name": "messageId", "schema": { "type": "string", "minLength": 1, "maxLength": 128 }, "description": "Omitted: a UUID is generated. Give one to make retries safe." },
        { "name": "expectedVersion", "schema": { "type": "integer", "minimum": 0 }, "description": "The session's version before this message; a mismatch is a version conflict." },
        { "name": "createIfMissing", "schema": { "type": "boolean", "default": false } }
      ],
      "result": { "name": "added", "schema": { "type": "object", "required": ["sessionId", "messageId", "version", "sequence", "timestamp", "duplicate"], "properties": { "sessionId": { "type": "string" }, "messageId": { "type": "string" }, "version": { "type": "integer", "description": "The session's version after this call." }, "sequence": { "type": "integer", "description": "The message's global sequence." }, "timestamp": { "type": "string", "format": "date-time" }, "duplicate": { "type": "boolean" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/SessionNotFound" }, { "$ref": "#/components/errors/VersionConflict" }, { "$ref": "#/components/errors/PayloadTooLarge" } ]
    },
    {
      "name": "getContext",
      "summary": "The last messages and the context of a session, now or as of a global sequence.",
      "params": [
        { "name": "sessionId", "required": true, "schema": { "$ref": "#/components/schemas/SessionId" } },
        { "name": "window", "schema": { "type": "integer", "minimum": 0, "default": 5 }, "description": "Capped at the daemon's --window unless asOf is given." },
        { "name": "maxTokens", "schema": { "type": "integer", "minimum": 0 }, "description": "Keep the most recent messages whose estimated tokens fit: ceil(UTF-8 bytes / 4) + 4 per message." },
        { "name": "asOf", "schema": { "type": "integer", "minimum": 1 }, "description": "A global sequence: the session as it was then." }
      ],
      "result": { "name": "context", "schema": { "type": "object", "required": ["sessionId", "messages", "context", "version"], "properties": { "sessionId": { "type": "string" }, "messages": { "type": "array", "items": { "$ref": "#/components/schemas/Message" } }, "context": { "type": "object" }, "version": { "type": "integer" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/SessionNotFound" } ]
    },
    {
      "name": "analyzeFollowUp",
      "summary": "Is the query a follow-up, what was the previous topic, and what is the standalone question.",
      "params": [
        { "name": "sessionId", "required": true, "schema": { "$ref": "#/components/schemas/SessionId" } },
        { "name": "query", "required": true, "schema": { "type": "string", "minLength": 1 } },
        { "name": "window", "schema": { "type": "integer", "minimum": 0, "default": 6 } },
        { "name": "rewrite", "schema": { "enum": ["rules", "llm", "auto"], "default": "rules" }, "description": "llm: the configured language model, falling back to the rules (reasons say why); auto: the model only for follow-ups." }
      ],
      "result": { "name": "analysis", "schema": { "type": "object", "required": ["isFollowUp", "confidence", "reasons", "previousTopic", "standaloneQuery", "method", "contextMessages"], "properties": { "isFollowUp": { "type": "boolean" }, "confidence": { "type": "number", "minimum": 0, "maximum": 1 }, "reasons": { "type": "array", "items": { "type": "string" } }, "previousTopic": { "oneOf": [ { "type": "null" }, { "$ref": "#/components/schemas/Topic" } ] }, "standaloneQuery": { "type": "string" }, "method": { "enum": ["rules", "llm"] }, "contextMessages": { "type": "array", "items": { "$ref": "#/components/schemas/Message" } } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/SessionNotFound" } ]
    },
    {
      "name": "updateContext",
      "summary": "Merge changes into the session context; a null value removes its key.",
      "params": [
        { "name": "sessionId", "required": true, "schema": { "$ref": "#/components/schemas/SessionId" } },
        { "name": "changes", "required": true, "schema": { "type": "object", "minProperties": 1 } },
        { "name": "expectedVersion", "schema": { "type": "integer", "minimum": 0 } }
      ],
      "result": { "name": "updated", "schema": { "type": "object", "required": ["version", "context"], "properties": { "version": { "type": "integer" }, "context": { "type": "object" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/SessionNotFound" }, { "$ref": "#/components/errors/VersionConflict" }, { "$ref": "#/components/errors/PayloadTooLarge" } ]
    },
    {
      "name": "getSession",
      "summary": "A session's state, with lastTopic: the topic of its latest user question that has one, computed when asked (listSessions leaves it out).",
      "params": [ { "name": "sessionId", "required": true, "schema": { "$ref": "#/components/schemas/SessionId" } } ],
      "result": { "name": "session", "schema": { "$ref": "#/components/schemas/Session" } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/SessionNotFound" } ]
    },
    {
      "name": "listSessions",
      "summary": "Sessions by last update, newest first.",
      "params": [
        { "name": "limit", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 50 } },
        { "name": "after", "schema": { "type": "string" }, "description": "The next cursor of the previous page." },
        { "name": "userId", "schema": { "type": "string" } }
      ],
      "result": { "name": "page", "schema": { "type": "object", "required": ["sessions"], "properties": { "sessions": { "type": "array", "items": { "$ref": "#/components/schemas/Session" } }, "next": { "type": "string" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" } ]
    },
    {
      "name": "readEvents",
      "summary": "Events of the log (or of one session) from a global sequence on, in the JSON form of events.schema.json.",
      "params": [
        { "name": "from", "schema": { "type": "integer", "minimum": 1, "default": 1 } },
        { "name": "limit", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } },
        { "name": "sessionId", "schema": { "$ref": "#/components/schemas/SessionId" } }
      ],
      "result": { "name": "page", "schema": { "type": "object", "required": ["events"], "properties": { "events": { "type": "array", "items": { "$ref": "events.schema.json" } }, "next": { "type": "integer" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" } ]
    },
    {
      "name": "health",
      "summary": "Liveness.",
      "params": [],
      "result": { "name": "health", "schema": { "type": "object", "properties": { "status": { "const": "ok" }, "version": { "type": "string" }, "uptimeSeconds": { "type": "number" } } } }
    },
    {
      "name": "stats",
      "summary": "Counts and sizes.",
      "params": [],
      "result": { "name": "stats", "schema": { "type": "object", "properties": { "events": { "type": "integer" }, "sessions": { "type": "integer" }, "headSequence": { "type": "integer" }, "headHash": { "type": "string" }, "mapSize": { "type": "integer" }, "windowCapacity": { "type": "integer" } } } }
    }
  ],
  "components": {
    "schemas": {
      "SessionId": { "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" },
      "Message": { "type": "object", "required": ["messageId", "role", "content", "metadata", "sequence", "version", "timestamp"], "properties": { "messageId": { "type": "string" }, "role": { "enum": ["user", "assistant", "system", "tool"] }, "content": {}, "metadata": { "type": "object" }, "sequence": { "type": "integer" }, "version": { "type": "integer" }, "timestamp": { "type": "string", "format": "date-time" } } },
      "Session": { "type": "object", "required": ["sessionId", "createdAt", "lastUpdated", "metadata", "messageCount", "version", "context"], "properties": { "sessionId": { "type": "string" }, "createdAt": { "type": "string", "format": "date-time" }, "lastUpdated": { "type": "string", "format": "date-time" }, "userId": { "type": "string" }, "metadata": { "type": "object" }, "messageCount": { "type": "integer" }, "version": { "type": "integer" }, "context": { "type": "object" }, "lastTopic": { "$ref": "#/components/schemas/Topic" } } },
      "Topic": { "type": "object", "properties": { "entity": { "type": "string" }, "metric": { "type": "string" }, "filters": { "type": "array", "items": { "type": "string" } }, "timeRange": { "type": "string" }, "sourceMessageId": { "type": "string" } } }
    },
    "errors": {
      "ParseError": { "code": -32700, "message": "Parse error: the line is not valid JSON (or not UTF-8)" },
      "InvalidRequest": { "code": -32600, "message": "Invalid request: not a JSON-RPC 2.0 request object" },
      "MethodNotFound": { "code": -32601, "message": "Method not found", "data": { "method": "the name asked for" } },
      "InvalidParams": { "code": -32602, "message": "Invalid params", "data": { "field": "the parameter at fault" } },
      "InternalError": { "code": -32603, "message": "Internal error" },
      "SessionNotFound": { "code": -32001, "message": "No such session", "data": { "field": "sessionId" } },
      "SessionExists": { "code": -32002, "message": "The session already exists", "data": { "field": "sessionId" } },
      "VersionConflict": { "code": -32003, "message": "The session is not at the expected version", "data": { "field": "expectedVersion", "expected": 0, "actual": 0 } },
      "PayloadTooLarge": { "code": -32004, "message": "Payload too large: a parameter or the request line exceeds the limit", "data": { "field": "the parameter at fault (absent for a too-long line, answered with id null)" } },
      "ShuttingDown": { "code": -32005, "message": "The daemon is stopping" },
      "StorageFull": { "code": -32006, "message": "The log reached its maximum size" }
    }
  }
}
"""##
}
