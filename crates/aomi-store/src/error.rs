//! Why a store operation failed.

use std::path::PathBuf;

/// Why a store operation failed. Callers match on the variants that mean something to a person
/// (a missing chat, a running turn, bad input); the rest are failures of the database itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No chat of that id.
    #[error("no chat with id {0}")]
    ChatNotFound(String),
    /// No branch of that id in this chat.
    #[error("no branch with id {0} in this chat")]
    BranchNotFound(String),
    /// No transaction request of that id.
    #[error("no transaction request with id {0}")]
    TransactionNotFound(String),
    /// A turn is already running in this chat (on this instance or another one).
    #[error("a turn is already running in chat {0}; wait for it to finish")]
    TurnRunning(String),
    /// An argument is malformed (an address, a cursor, a search with no words, …).
    #[error("{0}")]
    InvalidInput(String),
    /// The database URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL \"{0}\": use sqlite://<file>, sqlite::memory: or postgres://…")]
    UnsupportedUrl(String),
    /// Another process holds the SQLite database.
    #[error(
        "the database {0} is in use by another aomi process; stop it, set AOMI_DATA_DIR to another \
         directory, or share a PostgreSQL database (AOMI_DATABASE_URL) between instances"
    )]
    InUse(PathBuf),
    /// The database could not be opened or reached.
    #[error("cannot open the database {target}: {source}")]
    Connect {
        /// Where (a file, or a PostgreSQL host and database; never a password).
        target: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value does not parse (a row written by a newer or broken version).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A turn speaks for a wallet other than the chat's owner (or for none, in an owned chat).
    #[error("chat {0} belongs to another wallet")]
    NotOwner(String),
    /// The chat already holds a message with this id.
    #[error("message {0} is already in this chat; send a new message id")]
    DuplicateMessage(String),
    /// The chat holds as many messages as a turn's start allows ([`TurnStart::max_messages`](crate::TurnStart::max_messages)).
    #[error("chat {chat_id} holds {count} messages, the most it may hold")]
    ChatFull {
        /// The chat.
        chat_id: String,
        /// The messages it holds.
        count: u64,
    },
    /// The thread that runs the SQLite store's writes could not be started.
    #[error("cannot start the database's writer thread: {0}")]
    WriterThread(std::io::Error),
    /// The SQLite store's writer stopped (the store is being dropped).
    #[error("the database is closing")]
    Closed,
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The data directory could not be created or locked.
    #[error("cannot use the data directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A text that is not an address, where a caller parses one: bad input.
impl From<aomi_core::AddressError> for StoreError {
    fn from(error: aomi_core::AddressError) -> Self {
        StoreError::InvalidInput(error.to_string())
    }
}

impl From<StoreError> for aomi_core::BackendError {
    fn from(error: StoreError) -> Self {
        use aomi_core::BackendError;
        match error {
            StoreError::ChatNotFound(id) => BackendError::ChatNotFound(id),
            StoreError::BranchNotFound(id) => BackendError::BranchNotFound(id),
            StoreError::TurnRunning(id) => BackendError::TurnRunning(id),
            StoreError::InvalidInput(message) => BackendError::BadRequest(message),
            StoreError::NotOwner(_) => BackendError::Forbidden,
            duplicate @ StoreError::DuplicateMessage(_) => BackendError::BadRequest(duplicate.to_string()),
            StoreError::ChatFull { count, .. } => {
                BackendError::ChatFull { count: usize::try_from(count).unwrap_or(usize::MAX) }
            }
            other => BackendError::Storage(other.to_string()),
        }
    }
}

impl From<crate::script::ScriptError> for StoreError {
    /// A failed statement's error, whichever it was.
    fn from(error: crate::script::ScriptError) -> Self {
        StoreError::Database(error.error)
    }
}
