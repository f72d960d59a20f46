//! The `.mltq` header: records parsed with nom (stub, filled in by the reader work).
