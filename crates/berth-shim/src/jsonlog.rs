//! Docker's json-file log format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`,
//! rotated to `<path>.1`, `<path>.2`, ... when `max-size` is reached.
