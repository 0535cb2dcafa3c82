//! A small process wrapper for rustc actions, with the command-line contract of
//! rules_rust's `util/process_wrapper` (the subset this example uses):
//!
//!   process_wrapper [wrapper flags] -- <executable> [args...]
//!
//! Wrapper flags:
//!   --subst KEY=VALUE              replace `${KEY}` in the child's arguments, in
//!                                  `@param` files and in environment values;
//!                                  VALUE `${pwd}` means the current directory.
//!   --env-file FILE                add `KEY=VALUE` lines to the child's environment.
//!   --arg-file FILE                append the lines of FILE to the child's arguments.
//!   --rustc-output-format FORMAT   `rendered` (print the `rendered` field of rustc's
//!                                  JSON diagnostics) or `json` (print them as-is).
//!                                  Non-diagnostic JSON (artifact notifications) is
//!                                  dropped; a non-JSON line switches to passthrough.
//!   --rustc-quit-on-rmeta true     stop rustc once it reports the `.rmeta` artifact
//!                                  (`{"$message_type":"artifact","emit":"metadata"}`)
//!                                  and exit 0.
//!   --stdout-file FILE / --stderr-file FILE   redirect the child's output.
//!   --touch-file FILE              create FILE when the child succeeds.
//!
//! It uses only the standard library so that it can be compiled with a bare
//! `rustc` by a Bazel action (see //rust:process_wrapper).

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{self, Command, Stdio};

struct Options {
    substs: Vec<(String, String)>,
    env_files: Vec<String>,
    arg_files: Vec<String>,
    output_format: Option<OutputFormat>,
    quit_on_rmeta: bool,
    stdout_file: Option<String>,
    stderr_file: Option<String>,
    touch_file: Option<String>,
    child: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum OutputFormat {
    Rendered,
    Json,
}

fn die(msg: &str) -> ! {
    eprintln!("process_wrapper: {}", msg);
    process::exit(2)
}

fn parse_options() -> Options {
    let mut opts = Options {
        substs: Vec::new(),
        env_files: Vec::new(),
        arg_files: Vec::new(),
        output_format: None,
        quit_on_rmeta: false,
        stdout_file: None,
        stderr_file: None,
        touch_file: None,
        child: Vec::new(),
    };
    let cwd = env::current_dir()
        .unwrap_or_else(|e| die(&format!("cannot read the current directory: {}", e)));
    let cwd = cwd
        .to_str()
        .unwrap_or_else(|| die("the current directory is not UTF-8"))
        .to_owned();

    let mut args = env::args().skip(1);
    loop {
        let flag = match args.next() {
            Some(f) => f,
            None => die("missing `--` followed by the command to run"),
        };
        if flag == "--" {
            break;
        }
        let mut value = || {
            args.next()
                .unwrap_or_else(|| die(&format!("flag {} needs a value", flag)))
        };
        match flag.as_str() {
            "--subst" => {
                let v = value();
                let (k, val) = match v.split_once('=') {
                    Some(kv) => kv,
                    None => die(&format!("--subst expects KEY=VALUE, got {:?}", v)),
                };
                let val = if val == "${pwd}" { cwd.clone() } else { val.to_owned() };
                opts.substs.push((k.to_owned(), val));
            }
            "--env-file" => opts.env_files.push(value()),
            "--arg-file" => opts.arg_files.push(value()),
            "--rustc-output-format" => {
                opts.output_format = match value().as_str() {
                    "rendered" => Some(OutputFormat::Rendered),
                    "json" => Some(OutputFormat::Json),
                    other => die(&format!("invalid --rustc-output-format {:?}", other)),
                }
            }
            "--rustc-quit-on-rmeta" => opts.quit_on_rmeta = value() == "true",
            "--stdout-file" => opts.stdout_file = Some(value()),
            "--stderr-file" => opts.stderr_file = Some(value()),
            "--touch-file" => opts.touch_file = Some(value()),
            other => die(&format!("unknown flag {:?}", other)),
        }
    }
    opts.child = args.collect();
    if opts.child.is_empty() {
        die("no command after `--`");
    }
    opts
}

fn substitute(s: &str, substs: &[(String, String)]) -> String {
    let mut out = s.to_owned();
    for (k, v) in substs {
        let pattern = format!("${{{}}}", k);
        if out.contains(&pattern) {
            out = out.replace(&pattern, v);
        }
    }
    out
}

fn read_lines(path: &str) -> Vec<String> {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| die(&format!("cannot read {}: {}", path, e)));
    text.lines().map(|l| l.to_owned()).collect()
}

/// Writes the lines of a param file, with substitutions applied and nested
/// `@file`s inlined, to `out`.
fn expand_param_file(path: &str, substs: &[(String, String)], out: &mut Vec<String>) {
    for line in read_lines(path) {
        let line = substitute(&line, substs);
        match line.strip_prefix('@') {
            Some(nested) => expand_param_file(nested, substs, out),
            None => out.push(line),
        }
    }
}

// ---------------------------------------------------------------------------
// A minimal JSON reader, enough for rustc's one-object-per-line messages.

/// Scalars and arrays are parsed but not kept: only object string fields matter.
enum Json {
    Other,
    Str(String),
    Obj(BTreeMap<String, Json>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && (self.s[self.i] as char).is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }
    fn lit(&mut self, word: &str, v: Json) -> Option<Json> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Some(v)
        } else {
            None
        }
    }
    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut map = BTreeMap::new();
                if self.eat(b'}').is_some() {
                    return Some(Json::Obj(map));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.eat(b':')?;
                    let v = self.value()?;
                    map.insert(k, v);
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    self.eat(b'}')?;
                    return Some(Json::Obj(map));
                }
            }
            b'[' => {
                self.i += 1;
                if self.eat(b']').is_some() {
                    return Some(Json::Other);
                }
                loop {
                    self.value()?;
                    if self.eat(b',').is_some() {
                        continue;
                    }
                    self.eat(b']')?;
                    return Some(Json::Other);
                }
            }
            b'"' => self.string().map(Json::Str),
            b't' => self.lit("true", Json::Other),
            b'f' => self.lit("false", Json::Other),
            b'n' => self.lit("null", Json::Other),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                if self.i == start { None } else { Some(Json::Other) }
            }
            _ => None,
        }
    }
    fn hex4(&mut self) -> Option<u32> {
        let h = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }
    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut bytes = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(bytes).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(self.i) == Some(&b'\\')
                                && self.s.get(self.i + 1) == Some(&b'u')
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                _ => bytes.push(c),
            }
        }
    }
}

fn parse_json(line: &str) -> Option<Json> {
    let mut p = Parser { s: line.as_bytes(), i: 0 };
    let v = p.value()?;
    p.ws();
    if p.i == p.s.len() { Some(v) } else { None }
}

fn get_str<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    match v {
        Json::Obj(m) => match m.get(key) {
            Some(Json::Str(s)) => Some(s.as_str()),
            _ => None,
        },
        _ => None,
    }
}

// ---------------------------------------------------------------------------

enum LineAction {
    Print(String),
    Skip,
    RmetaDone,
}

struct StderrFilter {
    format: Option<OutputFormat>,
    quit_on_rmeta: bool,
    passthrough: bool,
}

impl StderrFilter {
    fn process(&mut self, line: &str) -> LineAction {
        if self.passthrough || (self.format.is_none() && !self.quit_on_rmeta) {
            return LineAction::Print(line.to_owned());
        }
        let parsed = match parse_json(line) {
            Some(v) => v,
            None => {
                // Not rustc JSON (e.g. a panic message): show everything from here on.
                self.passthrough = true;
                return LineAction::Print(line.to_owned());
            }
        };
        if self.quit_on_rmeta
            && get_str(&parsed, "$message_type") == Some("artifact")
            && get_str(&parsed, "emit") == Some("metadata")
            && get_str(&parsed, "artifact").map_or(false, |a| a.ends_with(".rmeta"))
        {
            return LineAction::RmetaDone;
        }
        match (get_str(&parsed, "rendered"), self.format) {
            (Some(_), Some(OutputFormat::Json)) | (Some(_), None) => {
                LineAction::Print(line.to_owned())
            }
            (Some(rendered), Some(OutputFormat::Rendered)) => {
                LineAction::Print(rendered.trim_end_matches('\n').to_owned())
            }
            (None, _) => LineAction::Skip,
        }
    }
}

fn main() {
    let opts = parse_options();

    // Arguments: substitutions everywhere, param files expanded into a temp file.
    let mut temp_files: Vec<String> = Vec::new();
    let mut child_args: Vec<String> = Vec::new();
    for (n, arg) in opts.child[1..].iter().enumerate() {
        let arg = substitute(arg, &opts.substs);
        if let Some(param_file) = arg.strip_prefix('@') {
            let mut lines = Vec::new();
            expand_param_file(param_file, &opts.substs, &mut lines);
            let base = Path::new(param_file)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("params");
            let tmp = env::temp_dir().join(format!(
                "pw_expanded_{}_{}_{}",
                process::id(),
                n,
                base
            ));
            let mut text = lines.join("\n");
            text.push('\n');
            fs::write(&tmp, text)
                .unwrap_or_else(|e| die(&format!("cannot write {}: {}", tmp.display(), e)));
            let tmp = tmp.to_string_lossy().into_owned();
            child_args.push(format!("@{}", tmp));
            temp_files.push(tmp);
        } else {
            child_args.push(arg);
        }
    }
    for f in &opts.arg_files {
        for line in read_lines(f) {
            child_args.push(substitute(&line, &opts.substs));
        }
    }

    // Environment: inherited, plus env files, with substitutions applied to values.
    let mut envs: BTreeMap<String, String> = env::vars().collect();
    for f in &opts.env_files {
        for line in read_lines(f) {
            if line.is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) => {
                    envs.insert(k.to_owned(), v.to_owned());
                }
                None => die(&format!("invalid line in env file {}: {:?}", f, line)),
            }
        }
    }
    for v in envs.values_mut() {
        *v = substitute(v, &opts.substs);
    }

    let executable = substitute(&opts.child[0], &opts.substs);
    let mut cmd = Command::new(&executable);
    cmd.args(&child_args).env_clear().envs(&envs).stdin(Stdio::null());
    match &opts.stdout_file {
        Some(f) => {
            let file = fs::File::create(f)
                .unwrap_or_else(|e| die(&format!("cannot create {}: {}", f, e)));
            cmd.stdout(file);
        }
        None => {
            cmd.stdout(Stdio::inherit());
        }
    }
    cmd.stderr(Stdio::piped());

    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| die(&format!("cannot start {}: {}", executable, e)));

    let mut err_out: Box<dyn Write> = match &opts.stderr_file {
        Some(f) => Box::new(
            fs::File::create(f).unwrap_or_else(|e| die(&format!("cannot create {}: {}", f, e))),
        ),
        None => Box::new(io::stderr()),
    };

    let mut filter = StderrFilter {
        format: opts.output_format,
        quit_on_rmeta: opts.quit_on_rmeta,
        passthrough: false,
    };
    let mut stopped_after_rmeta = false;
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => die(&format!("reading the child's stderr: {}", e)),
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(|c| c == '\n' || c == '\r');
        match filter.process(line) {
            LineAction::Print(s) => {
                let _ = writeln!(err_out, "{}", s);
            }
            LineAction::Skip => {}
            LineAction::RmetaDone => {
                stopped_after_rmeta = true;
                break;
            }
        }
    }
    let _ = err_out.flush();

    let code = if stopped_after_rmeta {
        // The .rmeta is complete (rustc renames it into place before reporting it).
        let _ = child.kill();
        let _ = child.wait();
        0
    } else {
        match child.wait() {
            Ok(status) => match status.code() {
                Some(c) => c,
                None => {
                    eprintln!("process_wrapper: {} was terminated by a signal", executable);
                    1
                }
            },
            Err(e) => die(&format!("waiting for {}: {}", executable, e)),
        }
    };

    for f in &temp_files {
        let _ = fs::remove_file(f);
    }
    if code == 0 {
        if let Some(f) = &opts.touch_file {
            if let Err(e) = fs::write(f, b"") {
                die(&format!("cannot create {}: {}", f, e));
            }
        }
    }
    process::exit(code);
}
