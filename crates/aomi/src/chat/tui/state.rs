//! The terminal UI as a pure state machine: keys and stream parts in, the screen's state and the
//! effects to carry out (send, stop, load…) out. No terminal and no network here, so that every
//! rule is tested by feeding events.

use aomi_core::{ChatMessage, MessagePart, Role, ToolState, UiChunk};
use serde_json::Value;

use crate::chat::client::{ChatEntry, Networks};

/// A key, as the state machine sees it (the terminal layer maps its key events onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter.
    Enter,
    /// Backspace.
    Backspace,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Page up: scrolls the conversation back.
    PageUp,
    /// Page down: scrolls the conversation forward.
    PageDown,
    /// Tab: completes a `/command`, or moves between the input and the chat list.
    Tab,
    /// Esc: stops a running turn (or leaves the chat list).
    Esc,
    /// Ctrl-C: quits (stopping a running turn first).
    CtrlC,
    /// Ctrl-R: shows or hides the reasoning.
    CtrlR,
}

/// What happens to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A key was pressed.
    Key(Key),
    /// A part of the running turn's stream arrived.
    Part(UiChunk),
    /// The running turn's stream ended; with the error that ended it, if one did.
    TurnEnded(Option<String>),
    /// The history list arrived.
    Chats(Vec<ChatEntry>),
    /// A chat's messages arrived (the chat opened with [`Effect::Open`]).
    Opened(String, Vec<ChatMessage>),
    /// The server's networks arrived.
    Networks(Networks),
    /// The direct commands' names arrived.
    Commands(Vec<String>),
    /// A request failed; the text is shown.
    Failed(String),
}

/// What the terminal layer does after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Sends this message to the current chat (on the current network).
    Send(String),
    /// Asks the server to stop the current chat's running turn.
    Stop,
    /// Reloads the history list.
    LoadChats,
    /// Loads this chat's messages.
    Open(String),
    /// Restores the terminal and ends.
    Quit,
}

/// Where the keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The input line.
    Input,
    /// The chat list (Up/Down select, Enter opens).
    Chats,
}

/// Where a tool call stands, as its card says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardState {
    /// The arguments are being written.
    Preparing,
    /// The tool runs.
    Running,
    /// The call waits for the wallet.
    Waiting,
    /// The tool answered.
    Done,
    /// The tool failed.
    Failed,
}

impl CardState {
    /// The state in a word.
    pub fn label(self) -> &'static str {
        match self {
            CardState::Preparing => "preparing",
            CardState::Running => "running",
            CardState::Waiting => "waiting for the wallet",
            CardState::Done => "done",
            CardState::Failed => "failed",
        }
    }
}

/// One block of the conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// What the user typed.
    User(String),
    /// Answer text (streamed into).
    Text(String),
    /// The model's reasoning, shown collapsed unless asked.
    Reasoning(String),
    /// A tool call's compact card.
    Tool {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// Where it stands.
        state: CardState,
        /// Its result (or progress, or error) in a line.
        summary: String,
    },
    /// A transaction for the wallet: what it does, its simulation, and where to sign it.
    WalletRequest {
        /// The call's id.
        id: String,
        /// The request in a sentence.
        summary: String,
        /// The simulation report in a few lines, once known.
        simulation: Option<String>,
    },
    /// A line from the client itself (a switch of network, a stop, a new chat).
    Notice(String),
    /// An error.
    Error(String),
}

/// The whole screen's state.
#[derive(Debug, Clone)]
pub struct State {
    /// The chat the conversation belongs to.
    pub chat_id: String,
    /// The server's base URL (the page's links start there).
    pub base_url: String,
    /// The wallet address, if one was given.
    pub address: Option<String>,
    /// The wallet's chain id.
    pub chain_id: u64,
    /// The networks the server reads.
    pub networks: Networks,
    /// The history list.
    pub chats: Vec<ChatEntry>,
    /// The selected line of the history list.
    pub selected: usize,
    /// Where the keys go.
    pub focus: Focus,
    /// The conversation.
    pub blocks: Vec<Block>,
    /// The input line.
    pub input: String,
    /// The messages sent, oldest first (Up recalls them).
    pub history: Vec<String>,
    /// The history entry the input shows, while recalling.
    recalling: Option<usize>,
    /// True while a turn runs.
    pub running: bool,
    /// True once a stop was asked for the running turn.
    pub stopping: bool,
    /// Lines scrolled back from the conversation's end.
    pub scroll_back: u16,
    /// True when the reasoning is shown in full.
    pub show_reasoning: bool,
    /// The direct commands' names (for `/` completion).
    pub commands: Vec<String>,
}

/// The commands the terminal handles itself.
pub const LOCAL_COMMANDS: &[&str] = &["new", "network", "chats", "quit"];

impl State {
    /// A fresh state on chat `chat_id`.
    pub fn new(chat_id: String, base_url: String, address: Option<String>, chain_id: u64) -> Self {
        State {
            chat_id,
            base_url,
            address,
            chain_id,
            networks: Networks::default(),
            chats: Vec::new(),
            selected: 0,
            focus: Focus::Input,
            blocks: Vec::new(),
            input: String::new(),
            history: Vec::new(),
            recalling: None,
            running: false,
            stopping: false,
            scroll_back: 0,
            show_reasoning: false,
            commands: Vec::new(),
        }
    }

    /// The network the wallet is on, by name when the server reads it.
    pub fn network_name(&self) -> Option<&str> {
        self.networks.networks.iter().find(|n| n.chain_id == self.chain_id).map(|n| n.name.as_str())
    }

    /// The page's address of this chat, where a wallet signs what the terminal cannot.
    pub fn page_link(&self) -> String {
        format!("{}/chat/{}", self.base_url.trim_end_matches('/'), self.chat_id)
    }

    /// Keeps the current chat in the list (a chat without a wallet is listed by no server).
    fn list_current(&mut self) {
        if !self.chats.iter().any(|chat| chat.id == self.chat_id) {
            self.chats.insert(0, ChatEntry { id: self.chat_id.clone(), title: None });
        }
    }

    /// Applies one event; returns what the terminal layer must do.
    pub fn update(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Key(key) => return self.key(key),
            Event::Part(chunk) => self.part(chunk),
            Event::TurnEnded(error) => {
                self.running = false;
                self.stopping = false;
                if let Some(error) = error {
                    self.blocks.push(Block::Error(error));
                }
            }
            Event::Chats(chats) => {
                self.chats = chats;
                self.list_current();
                self.selected = self.selected.min(self.chats.len().saturating_sub(1));
            }
            Event::Opened(id, messages) => {
                self.chat_id = id;
                self.blocks = messages.iter().flat_map(blocks_of).collect();
                self.scroll_back = 0;
            }
            Event::Networks(networks) => {
                // A wallet on no network the server reads starts on the server's default.
                if !networks.networks.iter().any(|n| n.chain_id == self.chain_id)
                    && let Some(default) = networks.networks.iter().find(|n| Some(&n.name) == networks.default.as_ref())
                {
                    self.chain_id = default.chain_id;
                }
                self.networks = networks;
            }
            Event::Commands(commands) => self.commands = commands,
            Event::Failed(error) => self.blocks.push(Block::Error(error)),
        }
        Vec::new()
    }

    fn key(&mut self, key: Key) -> Vec<Effect> {
        match key {
            Key::CtrlC => {
                let mut effects = Vec::new();
                if self.running {
                    effects.push(Effect::Stop);
                }
                effects.push(Effect::Quit);
                return effects;
            }
            Key::CtrlR => self.show_reasoning = !self.show_reasoning,
            Key::PageUp => self.scroll_back = self.scroll_back.saturating_add(10),
            Key::PageDown => self.scroll_back = self.scroll_back.saturating_sub(10),
            _ if self.focus == Focus::Chats => return self.chats_key(key),
            Key::Esc if self.running && !self.stopping => {
                self.stopping = true;
                return vec![Effect::Stop];
            }
            Key::Esc => {}
            Key::Char(c) => {
                self.input.push(c);
                self.recalling = None;
            }
            Key::Backspace => {
                self.input.pop();
            }
            Key::Up => self.recall(true),
            Key::Down => self.recall(false),
            Key::Tab => self.complete(),
            Key::Enter => return self.submit(),
        }
        Vec::new()
    }

    fn chats_key(&mut self, key: Key) -> Vec<Effect> {
        match key {
            Key::Up => self.selected = self.selected.saturating_sub(1),
            Key::Down => self.selected = (self.selected + 1).min(self.chats.len().saturating_sub(1)),
            Key::Enter => {
                self.focus = Focus::Input;
                if let Some(chat) = self.chats.get(self.selected)
                    && !self.running
                {
                    return vec![Effect::Open(chat.id.clone())];
                }
            }
            Key::Esc | Key::Tab => self.focus = Focus::Input,
            _ => {}
        }
        Vec::new()
    }

    /// Up walks back through the messages sent, Down forward (past the newest: an empty line).
    fn recall(&mut self, back: bool) {
        if self.history.is_empty() {
            return;
        }
        let last = self.history.len() - 1;
        let next = match (self.recalling, back) {
            (None, true) => Some(last),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i < last => Some(i + 1),
            (Some(_), false) => None,
        };
        self.recalling = next;
        self.input = next.map(|i| self.history[i].clone()).unwrap_or_default();
    }

    /// Tab after `/na`: the one command starting so, or the commands' common start; on an empty
    /// line, the chat list.
    fn complete(&mut self) {
        let Some(start) = self.input.strip_prefix('/') else {
            if self.input.is_empty() && !self.chats.is_empty() {
                self.focus = Focus::Chats;
            }
            return;
        };
        if start.contains(' ') {
            return;
        }
        let mut names: Vec<&str> = LOCAL_COMMANDS
            .iter()
            .copied()
            .chain(self.commands.iter().map(String::as_str))
            .filter(|name| name.starts_with(start))
            .collect();
        // The server's `/network` and the terminal's are one name.
        names.sort_unstable();
        names.dedup();
        match names.as_slice() {
            [] => {}
            [one] => self.input = format!("/{one} "),
            [first, rest @ ..] => {
                let common = rest.iter().fold(first.len(), |len, name| {
                    first.bytes().zip(name.bytes()).take(len).take_while(|(a, b)| a == b).count()
                });
                self.input = format!("/{}", &first[..common]);
                self.blocks.push(Block::Notice(format!("commands: {}", names.join(", "))));
            }
        }
    }

    fn submit(&mut self) -> Vec<Effect> {
        let text = self.input.trim().to_owned();
        if text.is_empty() {
            return Vec::new();
        }
        self.input.clear();
        self.recalling = None;
        if self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        let (command, argument) = match text.strip_prefix('/') {
            Some(rest) => rest.split_once(' ').map_or((rest, ""), |(c, a)| (c, a.trim())),
            None => ("", ""),
        };
        match command {
            "quit" | "exit" => return vec![Effect::Quit],
            "chats" => {
                self.focus = Focus::Chats;
                return vec![Effect::LoadChats];
            }
            "new" if !self.running => {
                self.chat_id = new_chat_id();
                self.list_current();
                self.blocks = vec![Block::Notice(format!("new chat {}", self.chat_id))];
                self.scroll_back = 0;
            }
            "network" if !argument.is_empty() => self.switch_network(argument),
            _ if self.running => {
                self.blocks.push(Block::Notice("a turn is running: Esc stops it".into()));
                self.input = text;
            }
            _ => {
                self.blocks.push(Block::User(text.clone()));
                self.running = true;
                self.stopping = false;
                self.scroll_back = 0;
                return vec![Effect::Send(text)];
            }
        }
        Vec::new()
    }

    fn switch_network(&mut self, name: &str) {
        match self.networks.networks.iter().find(|n| n.name.eq_ignore_ascii_case(name)) {
            Some(network) => {
                self.chain_id = network.chain_id;
                self.blocks.push(Block::Notice(format!("now on {} (chain id {})", network.name, network.chain_id)));
            }
            None => {
                let names: Vec<&str> = self.networks.networks.iter().map(|n| n.name.as_str()).collect();
                self.blocks.push(Block::Error(format!(
                    "unknown network \"{name}\"; the server reads: {}",
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                )));
            }
        }
    }

    fn part(&mut self, chunk: UiChunk) {
        match chunk {
            UiChunk::TextDelta { delta, .. } => match self.blocks.last_mut() {
                Some(Block::Text(text)) => text.push_str(&delta),
                _ => self.blocks.push(Block::Text(delta)),
            },
            UiChunk::ReasoningDelta { delta, .. } => match self.blocks.last_mut() {
                Some(Block::Reasoning(text)) => text.push_str(&delta),
                _ => self.blocks.push(Block::Reasoning(delta)),
            },
            UiChunk::ToolInputStart { tool_call_id, tool_name } => {
                self.card(&tool_call_id, &tool_name);
            }
            UiChunk::ToolInputAvailable { tool_call_id, tool_name, input } => {
                let card = self.card(&tool_call_id, &tool_name);
                card_set(card, CardState::Running, compact(&input));
            }
            UiChunk::ToolInputError { tool_call_id, tool_name, error_text, .. } => {
                let card = self.card(&tool_call_id, &tool_name);
                card_set(card, CardState::Failed, error_text);
            }
            UiChunk::ToolOutputAvailable { tool_call_id, output, .. } => {
                let summary = summary_of(&output);
                if let Some(card) = self.find_card(&tool_call_id) {
                    card_set(card, CardState::Done, summary);
                }
            }
            UiChunk::ToolOutputError { tool_call_id, error_text } => {
                if let Some(card) = self.find_card(&tool_call_id) {
                    card_set(card, CardState::Failed, error_text);
                }
            }
            UiChunk::Data { name, data, .. } => self.data(&name, &data),
            UiChunk::Error { error_text } => self.blocks.push(Block::Error(error_text)),
            UiChunk::Abort { .. } => self.blocks.push(Block::Notice("stopped".into())),
            _ => {}
        }
    }

    fn data(&mut self, name: &str, data: &Value) {
        let text = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        let call = text("toolCallId");
        match name {
            "tool-progress" => {
                if let Some(Block::Tool { summary, .. }) = self.find_card(&call) {
                    *summary = text("message");
                }
            }
            "network" => {
                if let Some(chain_id) = data.get("chainId").and_then(Value::as_u64) {
                    self.chain_id = chain_id;
                    self.blocks.push(Block::Notice(format!("now on {} (chain id {chain_id})", text("name"))));
                }
            }
            "simulation" => {
                let report = text("summary");
                match self.wallet_request(&call) {
                    Some(Block::WalletRequest { simulation, .. }) => *simulation = Some(report),
                    _ => self.blocks.push(Block::WalletRequest {
                        id: call,
                        summary: String::new(),
                        simulation: Some(report),
                    }),
                }
            }
            "wallet-request" => {
                if let Some(Block::Tool { state, .. }) = self.find_card(&call) {
                    *state = CardState::Waiting;
                }
                let said = text("summary");
                match self.wallet_request(&call) {
                    Some(Block::WalletRequest { summary, .. }) => *summary = said,
                    _ => self.blocks.push(Block::WalletRequest { id: call, summary: said, simulation: None }),
                }
            }
            _ => {}
        }
    }

    /// The card of call `id`, made if new.
    fn card(&mut self, id: &str, name: &str) -> &mut Block {
        let index = match self.blocks.iter().position(|b| matches!(b, Block::Tool { id: i, .. } if i == id)) {
            Some(index) => index,
            None => {
                self.blocks.push(Block::Tool {
                    id: id.to_owned(),
                    name: name.to_owned(),
                    state: CardState::Preparing,
                    summary: String::new(),
                });
                self.blocks.len() - 1
            }
        };
        &mut self.blocks[index]
    }

    fn find_card(&mut self, id: &str) -> Option<&mut Block> {
        self.blocks.iter_mut().rev().find(|b| matches!(b, Block::Tool { id: i, .. } if i == id))
    }

    fn wallet_request(&mut self, id: &str) -> Option<&mut Block> {
        self.blocks.iter_mut().rev().find(|b| matches!(b, Block::WalletRequest { id: i, .. } if i == id))
    }
}

fn card_set(card: &mut Block, to: CardState, text: String) {
    if let Block::Tool { state, summary, .. } = card {
        *state = to;
        *summary = text;
    }
}

/// A tool's output in a line: its `summary` when it has one, else its JSON.
fn summary_of(output: &Value) -> String {
    output.get("summary").and_then(Value::as_str).map_or_else(|| compact(output), str::to_owned)
}

/// JSON on one line, cut to a card's width.
fn compact(value: &Value) -> String {
    const MAX: usize = 120;
    let text = value.to_string();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A stored message as the conversation's blocks.
fn blocks_of(message: &ChatMessage) -> Vec<Block> {
    if message.role == Role::User {
        return vec![Block::User(message.text())];
    }
    message
        .parts
        .iter()
        .filter_map(|part| match part {
            MessagePart::Text { text } => Some(Block::Text(text.clone())),
            MessagePart::Reasoning { text } => Some(Block::Reasoning(text.clone())),
            MessagePart::Tool(tool) => {
                let (state, summary) = match tool.state {
                    ToolState::InputStreaming => (CardState::Preparing, String::new()),
                    ToolState::InputAvailable => (CardState::Running, compact(&tool.input)),
                    ToolState::OutputAvailable => {
                        (CardState::Done, tool.output.as_ref().map(summary_of).unwrap_or_default())
                    }
                    ToolState::OutputError => (CardState::Failed, tool.error_text.clone().unwrap_or_default()),
                };
                Some(Block::Tool { id: tool.tool_call_id.clone(), name: tool.tool_name.clone(), state, summary })
            }
            _ => None,
        })
        .collect()
}

/// A new chat's id.
pub fn new_chat_id() -> String {
    format!("cli-{}", uuid::Uuid::new_v4().simple())
}
