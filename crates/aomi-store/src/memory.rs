//! An in-memory [`ChatStore`].

use std::collections::HashMap;
use std::sync::Mutex;

use aomi_core::ChatMessage;
use async_trait::async_trait;
use chrono::Utc;

use crate::{ChatRecord, ChatStore, NewChat, StoreError};

#[derive(Debug, Default)]
struct Chat {
    record: Option<ChatRecord>,
    messages: Vec<ChatMessage>,
}

/// Keeps chats in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    chats: Mutex<HashMap<String, Chat>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Chat>) -> T) -> Result<T, StoreError> {
        let mut chats = self.chats.lock().map_err(|_| StoreError::Database("memory store poisoned".into()))?;
        Ok(f(&mut chats))
    }
}

#[async_trait]
impl ChatStore for MemoryStore {
    async fn ensure_chat(&self, chat: NewChat) -> Result<ChatRecord, StoreError> {
        self.with(|chats| {
            let entry = chats.entry(chat.id.clone()).or_default();
            entry
                .record
                .get_or_insert_with(|| {
                    let now = Utc::now();
                    ChatRecord {
                        id: chat.id,
                        owner: chat.owner,
                        app: chat.app,
                        title: None,
                        created_at: now,
                        updated_at: now,
                        archived: false,
                    }
                })
                .clone()
        })
    }

    async fn chat(&self, id: &str) -> Result<Option<ChatRecord>, StoreError> {
        self.with(|chats| chats.get(id).and_then(|chat| chat.record.clone()))
    }

    async fn put_message(&self, chat_id: &str, message: &ChatMessage) -> Result<(), StoreError> {
        self.with(|chats| {
            let chat = chats.get_mut(chat_id).ok_or_else(|| StoreError::ChatNotFound(chat_id.to_owned()))?;
            match chat.messages.iter_mut().find(|m| m.id == message.id) {
                Some(slot) => *slot = message.clone(),
                None => chat.messages.push(message.clone()),
            }
            if let Some(record) = &mut chat.record {
                record.updated_at = Utc::now();
            }
            Ok(())
        })?
    }

    async fn messages(&self, chat_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        self.with(|chats| chats.get(chat_id).map(|chat| chat.messages.clone()).unwrap_or_default())
    }

    async fn list_chats(&self, owner: Option<&str>) -> Result<Vec<ChatRecord>, StoreError> {
        self.with(|chats| {
            let mut list: Vec<ChatRecord> = chats
                .values()
                .filter_map(|chat| chat.record.clone())
                .filter(|record| record.owner.as_deref() == owner && !record.archived)
                .collect();
            list.sort_by_key(|chat| std::cmp::Reverse(chat.updated_at));
            list
        })
    }
}
