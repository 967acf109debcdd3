//! `aomi chat` in a terminal: the full-screen UI. The terminal layer here only maps keys onto
//! [`state::Key`]s, carries out [`state::Effect`]s over HTTP and draws; the rules live in
//! [`state`], the looks in [`view`].

pub mod state;
pub mod view;

#[cfg(test)]
mod tests;

use std::time::Duration;

use aomi_core::WalletContext;
use futures::StreamExt;
use ratatui::crossterm::event::{self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;

use self::state::{Effect, Event, Key, State};
use crate::chat::client::Client;

/// How long quitting waits for the server to take a stop.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// What wakes the loop: an event for the state, or a resize (just a redraw).
enum Wake {
    Event(Event),
    Redraw,
}

/// Restores the terminal when the UI ends, by return or by error (a panic is covered by the hook
/// `ratatui::try_init` installs).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Runs the UI until the user quits.
pub async fn run(client: Client, chat_id: String, app: String, wallet: WalletContext) -> anyhow::Result<()> {
    let address = wallet.address.map(|a| a.to_checksum());
    let mut state = State::new(chat_id.clone(), client.base().to_owned(), address, wallet.chain_id);
    state.update(Event::Chats(Vec::new()));
    let (wake, mut woken) = mpsc::unbounded_channel();
    load(&client, &wake, &chat_id);

    let mut terminal = ratatui::try_init()?;
    let _restore = Restore;
    read_keys(wake.clone());
    loop {
        terminal.draw(|frame| view::render(&state, frame))?;
        let Some(first) = woken.recv().await else { return Ok(()) };
        // Apply everything already waiting before drawing again: a fast stream is not drawn part
        // by part.
        let mut pending = vec![first];
        while let Ok(next) = woken.try_recv() {
            pending.push(next);
        }
        for wake_up in pending {
            let Wake::Event(event) = wake_up else { continue };
            for effect in state.update(event) {
                match effect {
                    Effect::Quit => return Ok(()),
                    Effect::Stop => {
                        let (client, chat) = (client.clone(), state.chat_id.clone());
                        // Quitting waits for the stop to be taken; Esc does not wait.
                        let stop = async move { client.stop(&chat).await };
                        if state.running && state.stopping {
                            let wake = wake.clone();
                            tokio::spawn(async move {
                                if let Err(error) = stop.await {
                                    let _ = wake.send(Wake::Event(Event::Failed(format!("{error:#}"))));
                                }
                            });
                        } else {
                            let _ = tokio::time::timeout(STOP_WAIT, stop).await;
                        }
                    }
                    Effect::Send(text) => {
                        let wallet = WalletContext { address: wallet.address, chain_id: state.chain_id };
                        turn(&client, &wake, state.chat_id.clone(), app.clone(), wallet, text);
                    }
                    Effect::LoadChats => chats(&client, &wake),
                    Effect::Open(id) => open(&client, &wake, id),
                }
            }
        }
    }
}

/// The first loads: the networks, the commands, the history list and the chat's messages.
fn load(client: &Client, wake: &mpsc::UnboundedSender<Wake>, chat_id: &str) {
    let (c, w) = (client.clone(), wake.clone());
    tokio::spawn(async move {
        let event = match c.networks().await {
            Ok(networks) => Event::Networks(networks),
            Err(error) => Event::Failed(format!("{error:#}")),
        };
        let _ = w.send(Wake::Event(event));
        // The commands only help completion: without them, Tab completes the terminal's own.
        if let Ok(commands) = c.commands().await {
            let _ = w.send(Wake::Event(Event::Commands(commands)));
        }
    });
    chats(client, wake);
    // A chat continued with --chat shows what was said; a new one is simply not there yet.
    let (c, w, id) = (client.clone(), wake.clone(), chat_id.to_owned());
    tokio::spawn(async move {
        if let Ok(history) = c.history(&id).await {
            let _ = w.send(Wake::Event(Event::Opened(id, history.messages)));
        }
    });
}

fn chats(client: &Client, wake: &mpsc::UnboundedSender<Wake>) {
    let (client, wake) = (client.clone(), wake.clone());
    tokio::spawn(async move {
        let event = match client.chats().await {
            Ok(chats) => Event::Chats(chats),
            Err(error) => Event::Failed(format!("cannot list the chats: {error:#}")),
        };
        let _ = wake.send(Wake::Event(event));
    });
}

fn open(client: &Client, wake: &mpsc::UnboundedSender<Wake>, id: String) {
    let (client, wake) = (client.clone(), wake.clone());
    tokio::spawn(async move {
        let event = match client.history(&id).await {
            Ok(history) => Event::Opened(id, history.messages),
            Err(error) => Event::Failed(format!("cannot open {id}: {error:#}")),
        };
        let _ = wake.send(Wake::Event(event));
    });
}

/// Runs one turn: its parts, then its end, go to the loop.
fn turn(
    client: &Client,
    wake: &mpsc::UnboundedSender<Wake>,
    chat_id: String,
    app: String,
    wallet: WalletContext,
    text: String,
) {
    let (client, wake) = (client.clone(), wake.clone());
    tokio::spawn(async move {
        let ended = async {
            let mut parts = std::pin::pin!(client.send(&chat_id, &app, &wallet, &text).await?);
            while let Some(part) = parts.next().await {
                let _ = wake.send(Wake::Event(Event::Part(part?.chunk)));
            }
            anyhow::Ok(())
        }
        .await;
        let _ = wake.send(Wake::Event(Event::TurnEnded(ended.err().map(|error| format!("{error:#}")))));
        // The chat may have a title now.
        if let Ok(chats) = client.chats().await {
            let _ = wake.send(Wake::Event(Event::Chats(chats)));
        }
    });
}

/// Reads the terminal's events on a thread of their own (the read blocks; the thread does not
/// keep the process alive once the UI returns).
fn read_keys(wake: mpsc::UnboundedSender<Wake>) {
    std::thread::spawn(move || {
        while let Ok(event) = event::read() {
            let wake_up = match event {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => match key_of(key) {
                    Some(key) => Wake::Event(Event::Key(key)),
                    None => continue,
                },
                TermEvent::Resize(..) => Wake::Redraw,
                _ => continue,
            };
            if wake.send(wake_up).is_err() {
                break;
            }
        }
    });
}

/// A terminal key as the state machine's key; `None` for keys the UI ignores.
fn key_of(key: KeyEvent) -> Option<Key> {
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if control => Key::CtrlC,
        KeyCode::Char('r') if control => Key::CtrlR,
        KeyCode::Char(_) if control => return None,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Tab => Key::Tab,
        KeyCode::Esc => Key::Esc,
        _ => return None,
    })
}
