//! MODULE (no modules can be loaded: LIST is empty, LOAD fails as Redis does for a
//! library it cannot open) and LOLWUT.
use super::error::{CmdError, CmdResult};
use super::keyspace::help;
use super::spec::*;
use super::{Args, Ctx};

const G: &str = "server";

fn module_list(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

fn module_load(_ctx: &mut Ctx, a: &Args) -> CmdResult {
    tracing::warn!("Module {} failed to load: this server does not load modules", a.str(2));
    Err(CmdError::new(
        "ERR Error loading the extension. Please check the server logs.",
    ))
}

fn module_unload(_ctx: &mut Ctx, _a: &Args) -> CmdResult {
    Err(CmdError::new(
        "ERR Error unloading module: no such module with that name",
    ))
}

fn module_help(ctx: &mut Ctx, _a: &Args) -> CmdResult {
    help(
        ctx,
        "MODULE",
        &[
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ],
    );
    Ok(())
}

/// A small drawing: rows of a diagonal weave whose density follows the row, then
/// the version line. As in Redis, `VERSION n` (only when more arguments follow
/// the word) picks the edition: 5 takes up to three integers (columns, squares
/// per row, squares per column), 6 up to two (columns, rows), and every other
/// edition ignores what follows. The integers set the drawing's size here.
fn lolwut(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let (edition, first) = if a.len() >= 3 && a.is(1, "version") {
        (a.i64(2)?, 3)
    } else {
        (7, 1)
    };
    let (mut cols, mut rows) = (48i64, 8i64);
    let takes = match edition {
        5 => 3,
        6 => 2,
        _ => 0,
    };
    for (n, j) in (first..a.len()).take(takes).enumerate() {
        let v = a.i64(j)?;
        match (edition, n) {
            (_, 0) => cols = v,
            (5, 2) | (6, 1) => rows = v / 2,
            _ => {}
        }
    }
    let (cols, rows) = (cols.clamp(1, 1000) as usize, rows.clamp(1, 250) as usize);
    let mut art = String::new();
    for y in 0..rows {
        for x in 0..cols {
            let on = (x + y) % (2 + y % 4) == 0 || (x * 7 + y * 3) % 11 == 0;
            art.push(if on { '/' } else { ' ' });
        }
        art.truncate(art.trim_end().len());
        art.push('\n');
    }
    art.push_str(&format!(
        "\nferrodis ver. {}, Redis ver. {}\n",
        env!("CARGO_PKG_VERSION"),
        crate::REDIS_VERSION
    ));
    ctx.out.verbatim(art.as_bytes(), "txt");
    Ok(())
}

const MODULE_SUBS: &[CommandSpec] = &[
    cmd("list", 2, ADMIN | NOSCRIPT, 0, module_list)
        .doc(
            G,
            "4.0.0",
            "O(N) where N is the number of loaded modules.",
            "Returns all loaded modules.",
        )
        .tips(&["nondeterministic_output_order"]),
    cmd(
        "load",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | PROTECTED,
        0,
        module_load,
    )
    .doc(G, "4.0.0", "O(1)", "Loads a module."),
    cmd(
        "loadex",
        -3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | PROTECTED,
        0,
        module_load,
    )
    .doc(G, "7.0.0", "O(1)", "Loads a module using extended parameters."),
    cmd(
        "unload",
        3,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | PROTECTED,
        0,
        module_unload,
    )
    .doc(G, "4.0.0", "O(1)", "Unloads a module."),
    cmd("help", 2, LOADING | STALE, 0, module_help).doc(
        G,
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands.",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    container("module", 0, MODULE_SUBS).doc(G, "4.0.0", "Depends on subcommand.", "A container for module commands."),
    cmd("lolwut", -1, READONLY | FAST, ACL_READ | ACL_FAST, lolwut).doc(
        G,
        "5.0.0",
        "",
        "Displays computer art and the server's version.",
    ),
];
