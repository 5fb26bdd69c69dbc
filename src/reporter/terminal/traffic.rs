//! The traffic block under vLLM's: how much of the prompts an ideal prefix
//! cache held, and a conversation's figures round by round (TTFT per round
//! is where a prefix cache shows).

use std::fmt::Write;

use crate::metrics::traffic::Traffic;

/// Empty when there is nothing to say (no reuse known, no rounds).
pub fn traffic_block(traffic: &Traffic) -> String {
    let mut out = String::new();
    if let Some(reuse) = &traffic.prefix_reuse {
        let _ = writeln!(
            out,
            "{:<40} {:.1}% ({} of {} input tokens)",
            "Reused prefix (ideal cache):",
            100.0 * reuse.fraction,
            reuse.reused_prefix_tokens,
            reuse.input_tokens
        );
    }
    if traffic.per_round.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{:>5} {:>9} {:>9} {:>12} {:>14} {:>12} {:>12}",
        "round", "completed", "missing", "input tok", "reused tok", "TTFT ms", "E2EL ms"
    );
    for r in &traffic.per_round {
        let _ = writeln!(
            out,
            "{:>5} {:>9} {:>9} {:>12.1} {:>14.1} {:>12.2} {:>12.2}",
            r.round,
            r.completed,
            r.not_completed,
            r.mean_input_tokens,
            r.mean_reused_prefix_tokens,
            r.mean_ttft_ms,
            r.mean_e2el_ms
        );
    }
    let _ = writeln!(
        out,
        "(means per round; missing: failed, cancelled or not sent)"
    );
    out
}
