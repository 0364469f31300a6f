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
    "version": "0.3.0",
    "description": "Conversation memory for LLM orchestrators. JSON-RPC 2.0 over a Unix socket: one JSON text per line (UTF-8, '\\n'-terminated), batches and notifications supported. Parameters are by name only. Responses to deferred calls (create, add, updateContext, analyzeFollowUp) may arrive out of order on a connection; match them by id."
  },
  "methods": [
    {
      "name": "create",
      "summary": "Start a session.",
      "params": [
        { "name": "ttlSeconds", "schema": { "type": "integer", "minimum": 1, "maximum": 3153600000 }, "description": "The session expires (is deleted, reason expired) this long after its last write; absent: the daemon's --retention applies (off by default)." },
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
      "description": "The query is analyzed against the session's last `window` messages before it. When the session's newest message is this very question from the user (the orchestrator stored it before asking, as a LangGraph thread does before its nodes run), it is the question, not an earlier turn, and is left out of the window.",
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
      "summary": "A session's state, with lastTopic: the topic of its latest user question that has one, computed when asked (listSessions leaves it out), and expiresAt when it expires.",
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
      "name": "subscribe",
      "summary": "The live tail: the log's events from fromSequence on, then each new one as its commit becomes durable, as notifications on this connection, in log order, each once.",
      "description": "After the answer, the daemon sends notifications (JSON-RPC requests without an id) on the same connection: `event` {subscription, event} for each matching event (the form of events.schema.json), one `caughtUp` {subscription, sequence} once the log as it stood has been delivered (live from there), and `subscriptionEnded` {subscription, error} if the daemon ends the subscription. History and live events meet without a gap or a repeat. Notifications are sent only as fast as the client reads them; a subscriber whose unread live events exceed the daemon's --subscriber-buffer (default 10000 events or 64 MiB) is ended with SubscriberTooSlow, whose data.resumeFrom is the first event it did not get: subscribe again from there and nothing is lost. Appends never wait for subscribers. A connection holds at most 16 subscriptions; closing it ends them. Notifications may interleave with the answers of other calls on the connection.",
      "params": [
        { "name": "fromSequence", "schema": { "type": "integer", "minimum": 1 }, "description": "The first global sequence to deliver; absent: the next event to commit (only new events)." },
        { "name": "sessionId", "schema": { "$ref": "#/components/schemas/SessionId" }, "description": "Only this session's events (it need not exist yet)." },
        { "name": "types", "schema": { "type": "array", "minItems": 1, "items": { "enum": ["SessionCreated", "MessageAdded", "ContextUpdated", "CheckpointPut", "WritesPut", "CheckpointsRemoved", "SessionDeleted", "RetentionSet"] } }, "description": "Only events of these types." }
      ],
      "result": { "name": "subscribed", "schema": { "type": "object", "required": ["subscription", "fromSequence"], "properties": { "subscription": { "type": "string", "description": "Names the subscription in its notifications and in unsubscribe." }, "fromSequence": { "type": "integer" } } } },
      "errors": [ { "$ref": "#/components/errors/InvalidParams" }, { "$ref": "#/components/errors/InvalidRequest" } ],
      "x-notifications": [
        { "$ref": "#/components/schemas/EventNotification" },
        { "$ref": "#/components/schemas/CaughtUpNotification" },
        { "$ref": "#/components/schemas/SubscriptionEndedNotification" }
      ]
    },
    {
      "name": "unsubscribe",
      "summary": "Ends a subscription of this connection; no notification of it follows the answer.",
      "params": [ { "name": "subscription", "required": true, "schema": { "type": "string" } } ],
      "result": { "name": "unsubscribed", "schema": { "type": "object", "required": ["unsubscribed"], "properties": { "unsubscribed": { "type": "boolean", "description": "false: this connection has no such subscription (it ended, or never was)." } } } },
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
      "result": { "name": "stats", "schema": { "type": "object", "properties": { "events": { "type": "integer" }, "sessions": { "type": "integer", "description": "Live sessions." }, "deletedSessions": { "type": "integer", "description": "Sessions deleted and not started again." }, "headSequence": { "type": "integer" }, "headHash": { "type": "string" }, "mapSize": { "type": "integer" }, "reclaimableBytes": { "type": "integer", "description": "Bytes of free pages in the data file: reused by later writes, removed by convlog compact." }, "pendingErasures": { "type": "integer", "description": "Deleted sessions whose records are not all erased yet." }, "windowCapacity": { "type": "integer" }, "subscriptions": { "type": "integer", "description": "Live-tail subscriptions open now." } } } }
    },
    {
      "name": "putCheckpoint",
      "summary": "Store a LangGraph checkpoint with the values of the channels it changed, atomically, acknowledged after fsync. Idempotent: a retry stores the same checkpoint again. Messages of a 'messages' list (root namespace) are stored once each in the thread's session (MessageAdded, id = the message's id); the checkpoint keeps their session versions. A late write of a deleted thread is refused.",
      "params": [
        {
          "name": "threadId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          },
          "description": "The LangGraph thread id: also the id of the session holding the thread's messages."
        },
        {
          "name": "checkpointNs",
          "schema": {
            "type": "string",
            "default": "",
            "maxLength": 1024
          },
          "description": "The checkpoint namespace: \"\" for the root graph."
        },
        {
          "name": "checkpointId",
          "required": true,
          "schema": {
            "type": "string",
            "minLength": 1,
            "maxLength": 128
          },
          "description": "Time-ordered (LangGraph's uuid6): ids compare as strings."
        },
        {
          "name": "parentCheckpointId",
          "schema": {
            "type": "string"
          }
        },
        {
          "name": "checkpoint",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/TypedBytes"
          },
          "description": "The checkpoint without its channel values, serialized by the client. Never decoded."
        },
        {
          "name": "metadata",
          "schema": {
            "type": "object"
          },
          "description": "Filterable by listCheckpoints (equality of top-level members)."
        },
        {
          "name": "channelVersions",
          "schema": {
            "type": "object",
            "additionalProperties": {
              "type": "string"
            }
          },
          "description": "Every channel's version in the checkpoint (text form): the keys of its values."
        },
        {
          "name": "values",
          "schema": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/ChannelValue"
            }
          },
          "description": "The values of the channels this checkpoint changed (LangGraph's new_versions)."
        }
      ],
      "result": {
        "name": "stored",
        "schema": {
          "type": "object",
          "required": [
            "sequence",
            "messageVersions"
          ],
          "properties": {
            "sequence": {
              "type": "integer",
              "description": "The global sequence of the checkpoint's record."
            },
            "messageVersions": {
              "type": "object",
              "additionalProperties": {
                "type": "array",
                "items": {
                  "type": "integer"
                }
              },
              "description": "Per message-list channel: the session versions of its messages, in list order (send {id, version} next time)."
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        },
        {
          "$ref": "#/components/errors/PayloadTooLarge"
        },
        {
          "$ref": "#/components/errors/ThreadDeleted"
        },
        {
          "$ref": "#/components/errors/MessageConflict"
        },
        {
          "$ref": "#/components/errors/VersionConflict"
        },
        {
          "$ref": "#/components/errors/StorageFull"
        },
        {
          "$ref": "#/components/errors/StoreUnavailable"
        }
      ]
    },
    {
      "name": "putWrites",
      "summary": "Store the pending writes of a task against a checkpoint (which need not be stored yet). Idempotent: an ordinary write already stored for (checkpoint, task, idx) is kept (first writer wins); writes to special channels (negative idx: __error__ -1, __scheduled__ -2, __interrupt__ -3, __resume__ -4) replace it.",
      "params": [
        {
          "name": "threadId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          },
          "description": "The LangGraph thread id: also the id of the session holding the thread's messages."
        },
        {
          "name": "checkpointNs",
          "schema": {
            "type": "string",
            "default": "",
            "maxLength": 1024
          },
          "description": "The checkpoint namespace: \"\" for the root graph."
        },
        {
          "name": "checkpointId",
          "required": true,
          "schema": {
            "type": "string"
          }
        },
        {
          "name": "taskId",
          "required": true,
          "schema": {
            "type": "string"
          }
        },
        {
          "name": "taskPath",
          "schema": {
            "type": "string",
            "default": ""
          }
        },
        {
          "name": "writes",
          "required": true,
          "schema": {
            "type": "array",
            "items": {
              "type": "object",
              "required": [
                "idx",
                "channel",
                "type"
              ],
              "properties": {
                "idx": {
                  "type": "integer"
                },
                "channel": {
                  "type": "string"
                },
                "type": {
                  "type": "string"
                },
                "data": {
                  "type": "string",
                  "contentEncoding": "base64"
                }
              }
            }
          }
        }
      ],
      "result": {
        "name": "stored",
        "schema": {
          "type": "object",
          "properties": {
            "sequence": {
              "type": [
                "integer",
                "null"
              ],
              "description": "null when writes is empty (nothing stored)."
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        },
        {
          "$ref": "#/components/errors/PayloadTooLarge"
        },
        {
          "$ref": "#/components/errors/ThreadDeleted"
        },
        {
          "$ref": "#/components/errors/StorageFull"
        },
        {
          "$ref": "#/components/errors/StoreUnavailable"
        }
      ]
    },
    {
      "name": "getCheckpoint",
      "summary": "A checkpoint with its channel values and pending writes (sorted by taskPath, taskId, idx): the given checkpointId, or the newest of the namespace; null when there is none.",
      "params": [
        {
          "name": "threadId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          },
          "description": "The LangGraph thread id: also the id of the session holding the thread's messages."
        },
        {
          "name": "checkpointNs",
          "schema": {
            "type": "string",
            "default": "",
            "maxLength": 1024
          },
          "description": "The checkpoint namespace: \"\" for the root graph."
        },
        {
          "name": "checkpointId",
          "schema": {
            "type": "string"
          }
        }
      ],
      "result": {
        "name": "checkpoint",
        "schema": {
          "oneOf": [
            {
              "$ref": "#/components/schemas/StoredCheckpoint"
            },
            {
              "type": "null"
            }
          ]
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        }
      ]
    },
    {
      "name": "listCheckpoints",
      "summary": "Checkpoints newest first (by checkpoint id): of one thread (all threads when absent), of one namespace (all when absent), whose metadata has every member of filter, with ids below before, at most limit.",
      "params": [
        {
          "name": "threadId",
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          }
        },
        {
          "name": "checkpointNs",
          "schema": {
            "type": "string"
          }
        },
        {
          "name": "filter",
          "schema": {
            "type": "object"
          }
        },
        {
          "name": "before",
          "schema": {
            "type": "string"
          },
          "description": "A checkpoint id: only older ones are listed (and the way to page)."
        },
        {
          "name": "limit",
          "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": 100
          }
        }
      ],
      "result": {
        "name": "page",
        "schema": {
          "type": "object",
          "required": [
            "checkpoints"
          ],
          "properties": {
            "checkpoints": {
              "type": "array",
              "items": {
                "$ref": "#/components/schemas/StoredCheckpoint"
              }
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        }
      ]
    },
    {
      "name": "deleteThread",
      "summary": "Delete a thread as deleteSession does (its messages, checkpoints and writes are gone and erased; a SessionDeleted event stays in the log) and fence it: a later write for a checkpoint id at or below the newest deleted one is refused (ThreadDeleted); newer ids start a new conversation.",
      "params": [
        {
          "name": "threadId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          },
          "description": "The LangGraph thread id: also the id of the session holding the thread's messages."
        }
      ],
      "result": {
        "name": "deleted",
        "schema": {
          "type": "object",
          "properties": {
            "deleted": {
              "type": "boolean",
              "description": "false when the thread had nothing to delete."
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        }
      ]
    },
    {
      "name": "deleteForRuns",
      "summary": "Remove the checkpoints (and their writes) whose metadata run_id is one of runIds, in every thread.",
      "params": [
        {
          "name": "runIds",
          "required": true,
          "schema": {
            "type": "array",
            "items": {
              "type": "string"
            }
          }
        }
      ],
      "result": {
        "name": "removed",
        "schema": {
          "type": "object",
          "properties": {
            "removed": {
              "type": "integer"
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        }
      ]
    },
    {
      "name": "copyThread",
      "summary": "Copy every checkpoint and pending write of a thread to another (same namespaces and ids), as new records of the target (values, messages and writes), so the copy does not depend on the source.",
      "params": [
        {
          "name": "sourceThreadId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          }
        },
        {
          "name": "targetThreadId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          }
        }
      ],
      "result": {
        "name": "copied",
        "schema": {
          "type": "object",
          "properties": {
            "copied": {
              "type": "boolean",
              "description": "false when the source has no checkpoint."
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        },
        {
          "$ref": "#/components/errors/ThreadDeleted"
        }
      ]
    },
    {
      "name": "prune",
      "summary": "Prune threads: keep_latest keeps the newest checkpoint of each namespace (with its writes); delete removes every checkpoint (without fencing the thread).",
      "params": [
        {
          "name": "threadIds",
          "required": true,
          "schema": {
            "type": "array",
            "items": {
              "$ref": "#/components/schemas/SessionId"
            }
          }
        },
        {
          "name": "strategy",
          "schema": {
            "enum": [
              "keep_latest",
              "delete"
            ],
            "default": "keep_latest"
          }
        }
      ],
      "result": {
        "name": "removed",
        "schema": {
          "type": "object",
          "properties": {
            "removed": {
              "type": "integer"
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        }
      ]
    },
    {
      "name": "deleteSession",
      "summary": "Delete a session: it disappears from getContext, getSession, listSessions and analyzeFollowUp (SessionNotFound, \"was deleted\"), its message ids are free again, and the payloads of its earlier events are erased from the log (their bytes leave the data file at `convlog compact`). The deletion is an event (SessionDeleted, with the reason), kept in the log. A later add with createIfMissing, or a LangGraph checkpoint, starts the session afresh.",
      "params": [
        {
          "name": "sessionId",
          "required": true,
          "schema": {
            "$ref": "#/components/schemas/SessionId"
          }
        },
        {
          "name": "reason",
          "schema": {
            "type": "string",
            "maxLength": 1024
          },
          "description": "Why (kept in the log, shown by convlog replay)."
        }
      ],
      "result": {
        "name": "deleted",
        "schema": {
          "type": "object",
          "required": [
            "sessionId",
            "deleted",
            "version"
          ],
          "properties": {
            "sessionId": {
              "type": "string"
            },
            "deleted": {
              "const": true
            },
            "version": {
              "type": "integer",
              "description": "The session's version after the deletion."
            }
          }
        }
      },
      "errors": [
        {
          "$ref": "#/components/errors/InvalidParams"
        },
        {
          "$ref": "#/components/errors/SessionNotFound"
        }
      ]
    }
  ],
  "components": {
    "schemas": {
      "TypedBytes": {"type": "object", "required": ["type"], "description": "A value as the client's serializer made it: its type tag and base64 bytes (absent for an empty value). convlog never decodes it.", "properties": {"type": {"type": "string", "maxLength": 255}, "data": {"type": "string", "contentEncoding": "base64"}}},
      "ChannelValue": {"type": "object", "required": ["channel", "version"], "description": "A channel's value at a version: opaque bytes (type, data), or a message list (messages).", "properties": {"channel": {"type": "string"}, "version": {"type": "string"}, "type": {"type": "string"}, "data": {"type": "string", "contentEncoding": "base64"}, "messages": {"type": "array", "items": {"type": "object", "required": ["id"], "description": "A stored message as {id, version}; a message in full as {id, role, content, metadata}. Read results carry both.", "properties": {"id": {"type": "string"}, "version": {"type": "integer"}, "role": {"enum": ["user", "assistant", "system", "tool"]}, "content": {"oneOf": [{"type": "string"}, {"type": "array"}, {"type": "object"}]}, "metadata": {"type": "object"}}}}}},
      "StoredCheckpoint": {"type": "object", "required": ["threadId", "checkpointNs", "checkpointId", "checkpoint", "metadata", "values", "pendingWrites", "sequence"], "properties": {"threadId": {"type": "string"}, "checkpointNs": {"type": "string"}, "checkpointId": {"type": "string"}, "parentCheckpointId": {"type": "string"}, "checkpoint": {"$ref": "#/components/schemas/TypedBytes"}, "metadata": {"type": "object"}, "values": {"type": "array", "items": {"$ref": "#/components/schemas/ChannelValue"}}, "pendingWrites": {"type": "array", "items": {"type": "object", "properties": {"taskId": {"type": "string"}, "taskPath": {"type": "string"}, "idx": {"type": "integer"}, "channel": {"type": "string"}, "type": {"type": "string"}, "data": {"type": "string"}}}}, "sequence": {"type": "integer"}}},
      "SessionId": { "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$" },
      "Message": { "type": "object", "required": ["messageId", "role", "content", "metadata", "sequence", "version", "timestamp"], "properties": { "messageId": { "type": "string" }, "role": { "enum": ["user", "assistant", "system", "tool"] }, "content": {}, "metadata": { "type": "object" }, "sequence": { "type": "integer" }, "version": { "type": "integer" }, "timestamp": { "type": "string", "format": "date-time" } } },
      "Session": { "type": "object", "required": ["sessionId", "createdAt", "lastUpdated", "metadata", "messageCount", "version", "context"], "properties": { "sessionId": { "type": "string" }, "createdAt": { "type": "string", "format": "date-time" }, "lastUpdated": { "type": "string", "format": "date-time" }, "userId": { "type": "string" }, "metadata": { "type": "object" }, "messageCount": { "type": "integer" }, "version": { "type": "integer" }, "context": { "type": "object" }, "lastTopic": { "$ref": "#/components/schemas/Topic" }, "expiresAt": { "type": "string", "format": "date-time", "description": "getSession only: when the session expires (its last write plus its ttlSeconds or the daemon's --retention); absent when it never does." } } },
      "EventNotification": {
        "description": "A notification of subscribe: one event of the log.",
        "type": "object", "required": ["jsonrpc", "method", "params"],
        "properties": { "jsonrpc": { "const": "2.0" }, "method": { "const": "event" }, "params": { "type": "object", "required": ["subscription", "event"], "properties": { "subscription": { "type": "string" }, "event": { "$ref": "events.schema.json" } } } }
      },
      "CaughtUpNotification": {
        "description": "A notification of subscribe, sent once: the log up to this sequence has been delivered; what follows commits from now on.",
        "type": "object", "required": ["jsonrpc", "method", "params"],
        "properties": { "jsonrpc": { "const": "2.0" }, "method": { "const": "caughtUp" }, "params": { "type": "object", "required": ["subscription", "sequence"], "properties": { "subscription": { "type": "string" }, "sequence": { "type": "integer", "minimum": 0 } } } }
      },
      "SubscriptionEndedNotification": {
        "description": "A notification of subscribe, the last of its subscription: the daemon ended it (SubscriberTooSlow, ShuttingDown, InternalError), data.resumeFrom saying where to subscribe again.",
        "type": "object", "required": ["jsonrpc", "method", "params"],
        "properties": { "jsonrpc": { "const": "2.0" }, "method": { "const": "subscriptionEnded" }, "params": { "type": "object", "required": ["subscription", "error"], "properties": { "subscription": { "type": "string" }, "error": { "type": "object", "required": ["code", "message"], "properties": { "code": { "type": "integer" }, "message": { "type": "string" }, "data": { "type": "object", "properties": { "resumeFrom": { "type": "integer" } } } } } } } }
      },
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
      "StorageFull": { "code": -32006, "message": "Storage full: no space left on the device (or quota) holding the log, or the map reached its maximum size; nothing of the call was written, and appends succeed again once space is freed" },
      "StoreUnavailable": { "code": -32010, "message": "Store unavailable: the daemon keeps its log in PostgreSQL (convlogd --store) and cannot reach it; nothing was written unless the message says the commit's outcome is unknown (a retry with the same messageId is safe). Every method that reads answers it too, since it must first see every write the other daemons acknowledged. The daemon answers again, without a restart, once the database is back" },
      "ThreadDeleted": {"code": -32007, "message": "A late write of a deleted thread: the checkpoint is at or below the newest deleted one", "data": {"field": "checkpointId"}},
      "MessageConflict": {"code": -32008, "message": "A message has a stored message's id but other content, or a reference names no stored message: send the channel as bytes, or the messages in full", "data": {"field": "values[channel].messages[i]"}},
      "SubscriberTooSlow": {"code": -32009, "message": "Subscriber too slow: more live events waited for this subscriber than the daemon holds (--subscriber-buffer); sent in a subscriptionEnded notification", "data": {"resumeFrom": "the first sequence not delivered: subscribe again from it"}}
    }
  }
}
"""##
}
