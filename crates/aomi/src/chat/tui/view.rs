//! How the state looks: the chat list on the left, the conversation, the input line and the
//! status bar. A function of the state alone, so tests render it into a `TestBackend`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block as Border, List, ListItem, ListState, Paragraph, Wrap};

use super::state::{Block, CardState, Focus, State};

/// Width of the chat list.
const CHATS_WIDTH: u16 = 28;

/// Draws the whole screen.
pub fn render(state: &State, frame: &mut Frame) {
    let [main, input, status] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(3), Constraint::Length(1)]).areas(frame.area());
    let [chats, conversation] = Layout::horizontal([Constraint::Length(CHATS_WIDTH), Constraint::Min(20)]).areas(main);
    render_chats(state, frame, chats);
    render_conversation(state, frame, conversation);
    render_input(state, frame, input);
    frame.render_widget(Paragraph::new(status_line(state)).style(Style::new().reversed()), status);
}

fn render_chats(state: &State, frame: &mut Frame, area: Rect) {
    let focused = state.focus == Focus::Chats;
    let border = Border::bordered().title(" chats (/chats) ").border_style(if focused {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new()
    });
    let mut items: Vec<ListItem> = state
        .chats
        .iter()
        .map(|chat| {
            let current = if chat.id == state.chat_id { "• " } else { "  " };
            ListItem::new(format!("{current}{}", chat.title.as_deref().unwrap_or(&chat.id)))
        })
        .collect();
    if items.is_empty() {
        let hint = if state.address.is_some() { "no chats yet" } else { "--address lists a wallet's chats" };
        items.push(ListItem::new(Span::from(hint).italic()));
    }
    let list = List::new(items).block(border).highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut selection = ListState::default().with_selected(focused.then_some(state.selected));
    frame.render_stateful_widget(list, area, &mut selection);
}

fn render_conversation(state: &State, frame: &mut Frame, area: Rect) {
    let title = format!(" {} ", state.chat_id);
    let border = Border::bordered().title(title);
    let inner_width = area.width.saturating_sub(2);
    let paragraph = Paragraph::new(conversation_text(state)).wrap(Wrap { trim: false });
    // Show the end of the conversation, less what was scrolled back.
    let lines = u16::try_from(paragraph.line_count(inner_width)).unwrap_or(u16::MAX);
    let height = area.height.saturating_sub(2);
    let bottom = lines.saturating_sub(height);
    let top = bottom.saturating_sub(state.scroll_back);
    frame.render_widget(paragraph.block(border).scroll((top, 0)), area);
}

/// The conversation as styled lines.
pub fn conversation_text(state: &State) -> Text<'static> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    for block in &state.blocks {
        match block {
            Block::User(text) => {
                lines.push(Line::default());
                lines.push(Line::from(vec![Span::from("you › ").bold().fg(Color::Cyan), Span::from(text.clone())]));
            }
            Block::Text(text) => lines.extend(text.split('\n').map(|line| Line::from(line.to_owned()))),
            Block::Reasoning(text) if state.show_reasoning => {
                lines.extend(text.split('\n').map(|line| Line::from(line.to_owned()).italic().dark_gray()));
            }
            Block::Reasoning(text) => lines.push(
                Line::from(format!("▸ reasoning ({} characters, Ctrl-R shows it)", text.chars().count()))
                    .italic()
                    .dark_gray(),
            ),
            Block::Tool { name, state: card, summary, .. } => {
                let (mark, color) = match card {
                    CardState::Preparing | CardState::Running => ("⚙", Color::Yellow),
                    CardState::Waiting => ("⏳", Color::Magenta),
                    CardState::Done => ("✓", Color::Green),
                    CardState::Failed => ("✗", Color::Red),
                };
                lines.push(Line::from(vec![
                    Span::from(format!("{mark} {name}")).bold().fg(color),
                    Span::from(format!(" [{}] ", card.label())).fg(color),
                    Span::from(summary.clone()).dark_gray(),
                ]));
            }
            Block::WalletRequest { summary, simulation, .. } => {
                lines.push(Line::from(format!("⏳ wallet request: {summary}")).bold().fg(Color::Magenta));
                if let Some(report) = simulation {
                    lines.push(Line::from("  simulation:").fg(Color::Magenta));
                    lines.extend(report.lines().map(|line| Line::from(format!("    {line}"))));
                }
                lines.push(
                    Line::from(format!("  sign it with a wallet on the page: {}", state.page_link())).underlined(),
                );
            }
            Block::Notice(text) => lines.push(Line::from(format!("· {text}")).dark_gray()),
            Block::Error(text) => lines.push(Line::from(format!("error: {text}")).fg(Color::Red)),
        }
    }
    Text::from(lines)
}

fn render_input(state: &State, frame: &mut Frame, area: Rect) {
    let title = if state.running {
        " answering… Esc stops, Ctrl-C quits ".to_owned()
    } else {
        " message (Enter sends, Up recalls, Tab completes /commands, Ctrl-C quits) ".to_owned()
    };
    let focused = state.focus == Focus::Input;
    let border =
        Border::bordered().title(title).border_style(if focused { Style::new().fg(Color::Cyan) } else { Style::new() });
    // Keep the end of a long line in view.
    let width = usize::from(area.width.saturating_sub(3));
    let chars = state.input.chars().count();
    let shown: String = state.input.chars().skip(chars.saturating_sub(width)).collect();
    frame.render_widget(Paragraph::new(shown.clone()).block(border), area);
    if focused {
        let x = area.x + 1 + u16::try_from(shown.chars().count()).unwrap_or(0);
        frame.set_cursor_position((x.min(area.right().saturating_sub(2)), area.y + 1));
    }
}

/// The status bar: the network, the wallet, the state of the turn.
pub fn status_line(state: &State) -> Line<'static> {
    let network = match state.network_name() {
        Some(name) => format!("{name} ({})", state.chain_id),
        None => format!("chain {}", state.chain_id),
    };
    let wallet = state.address.clone().unwrap_or_else(|| "no wallet".to_owned());
    let turn = match (state.running, state.stopping) {
        (true, true) => "stopping",
        (true, false) => "answering",
        _ => "ready",
    };
    Line::from(format!(" aomi · {network} · {wallet} · {turn} · {}", state.base_url))
}
