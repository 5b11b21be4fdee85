//! bpfkit-tools: the built-in tools, each a kernel half (`bpf/<tool>.bpf.c`,
//! built into the committed `bpf/<tool>.bpf.o`) plus the declarative
//! [`ToolSpec`] below. Nothing here runs anything: the generic runtime loads
//! the object, picks the first [`Variant`] the kernel supports, turns
//! [`Flag`]s into `const volatile` values or runtime options, and renders the
//! chosen [`Output`].
//!
//! Flags, columns and examples follow libbpf-tools; where a tool differs,
//! its spec file says why.
//!
//! # Adding a tool
//!
//! 1. Write `bpf/NAME.bpf.c` in libbpf style (`#include "common.h"`): filters
//!    and modes as `const volatile` globals, events as `struct event` through
//!    the ring buffer `events` (`DEFINE_EVENTS_RINGBUF()`, which also marks
//!    the event type with `BPFKIT_EVENT`), summaries in BTF-typed maps.
//!    `include/bpfkit.h` typedefs (`bpfkit_duration_ns_t`, ...) tell generic
//!    output (JSON, `bpfkit run`) what a field means. Do in the kernel what would otherwise need tool-specific
//!    user space (split `ret` into `fd` and `err`, compute ages), so that the
//!    generic runtime can show the fields as they are.
//! 2. Where the libbpf-tools original uses fentry or kprobes, also provide a
//!    tracepoint / tp_btf / raw_tp variant in the same object.
//! 3. `scripts/build-bpf.sh` builds `bpf/NAME.bpf.o` (committed).
//! 4. Add `src/specs/NAME.rs` and list it in `specs::ALL`. The tests check the
//!    spec against the object and load the best variant into the kernel.

mod specs;

/// One built-in tool.
#[derive(Debug)]
pub struct ToolSpec {
    pub name: &'static str,
    /// One line, like the first line of libbpf-tools' `--help`.
    pub summary: &'static str,
    /// The compiled kernel half, holding the programs of every variant.
    pub object: &'static [u8],
    /// Hook variants, best first. Programs of variants not chosen are not loaded.
    pub variants: &'static [Variant],
    /// Options and positional arguments, in `--help` order.
    pub flags: &'static [Flag],
    /// How results are shown; the first output whose `when` holds is used.
    pub outputs: &'static [Output],
    /// The EXAMPLES block of `--help`.
    pub examples: &'static str,
}

/// A set of programs that together implement the tool with one kind of hook.
#[derive(Debug)]
pub struct Variant {
    /// `tracepoint`, `tp_btf`, `raw_tp`, `kprobe`, `fentry`, `uprobe`, `perf_event`,
    /// or a name for a flag-selected mode (sigsnoop's `kill`).
    pub label: &'static str,
    /// Program (function) names in the object.
    pub programs: &'static [&'static str],
    /// `Some(long)`: used only, and then always, when that flag is given;
    /// such variants are never picked automatically.
    pub only_with: Option<&'static str>,
    /// Programs (also listed in `programs`) to leave out when their hook does
    /// not exist on the running kernel, e.g. `sys_enter_open`, which arm64
    /// lacks. Every other program must load and attach.
    pub optional: &'static [&'static str],
    /// `Some((long, value))`: a candidate only when that flag has that
    /// value (fsslower's `-t ext4` for the variants on ext4's own
    /// functions); otherwise never, not even without the flag.
    pub only_for: Option<(&'static str, &'static str)>,
}

impl Variant {
    pub const fn new(label: &'static str, programs: &'static [&'static str]) -> Variant {
        Variant {
            label,
            programs,
            only_with: None,
            optional: &[],
            only_for: None,
        }
    }

    pub const fn only_for(mut self, flag: &'static str, value: &'static str) -> Variant {
        self.only_for = Some((flag, value));
        self
    }

    pub const fn only_with(mut self, flag: &'static str) -> Variant {
        self.only_with = Some(flag);
        self
    }

    pub const fn optional(mut self, programs: &'static [&'static str]) -> Variant {
        self.optional = programs;
        self
    }
}

/// A command-line option or positional argument.
#[derive(Debug)]
pub struct Flag {
    pub short: Option<char>,
    /// The long name (`--long`), or the name of a positional argument. Other
    /// parts of the spec refer to flags by this name.
    pub long: &'static str,
    pub value: Value,
    pub help: &'static str,
    /// Value used when the flag is not given (shown in `--help`).
    pub default: Option<&'static str>,
    /// What giving the flag does, in order.
    pub effects: &'static [Effect],
}

/// Whether and how a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A switch; its parameters are set to true (1).
    Switch,
    /// `--long VALUE` / `-s VALUE`; the string is the metavar.
    Named(&'static str, Parse),
    /// A positional argument, in the order the flags list them.
    Positional(&'static str, Parse),
}

/// How a flag's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parse {
    /// A decimal integer.
    Int,
    /// Free text, used by user-space filters.
    Text,
    /// A file system path.
    Path,
    /// An errno, as a number or a name (`ENOENT`).
    Errno,
    /// A signal, as a number or a name (`KILL`, `SIGKILL`).
    Signal,
    /// An IPv4 address (`10.0.0.1`), turned into the `u32` the kernel keeps
    /// it in (network byte order in memory, as `bpfkit_ipv4_t`).
    Ipv4,
    /// A disk name (`sda`), turned into the kernel's dev_t
    /// (`major << 20 | minor`, from `/sys/block/NAME/dev`).
    Disk,
    /// A file system type this kernel has (a name in /proc/filesystems:
    /// `ext4`, `xfs`), kept as text.
    FileSystem,
}

/// One thing a flag does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Sets `const volatile NAME` to the flag's value (a switch: to true).
    Param(&'static str),
    /// Sets `const volatile NAME` to true, for valued flags that also need an
    /// enable bit (`-d DISK` sets `targ_dev` and enables `filter_dev`).
    Enable(&'static str),
    /// Changes what the runtime does, not what the kernel half does.
    Runtime(Runtime),
    /// Sets `const volatile NAME` to the flag's value times the factor
    /// (offcputime's `-m` takes microseconds and sets `min_block_ns`).
    ParamScaled(&'static str, u64),
    /// Sets the `const volatile` array NAME (`u16 filter_ports[MAX_PORTS]`)
    /// from the flag's comma-separated values (`-P 80,443`), range-checked
    /// per element and against the array's length, and the integer
    /// `NAME_len` (`bpfkit_object::list_length_param`) to how many were
    /// given; `NAME_len` = 0 means the flag was not given.
    ParamList(&'static str),
    /// Creates map NAME with `max_entries` N (bytes, for a ring buffer):
    /// `-U`/`-K` make each record carry up to hundreds of bytes of stack,
    /// and a burst of them (many processes starting at once) must not
    /// overflow a ring buffer sized for the small records.
    MapSize(&'static str, u32),
}

/// Generic runtime behaviour a flag can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Print (and clear) map outputs every VALUE seconds.
    Interval,
    /// Stop after VALUE intervals.
    Count,
    /// Stop after VALUE seconds.
    Duration,
    /// Prefix a `TIME(s)` column: seconds since tracing started.
    Timestamp,
    /// Prefix a `TIME` column: wall clock `HH:MM:SS` (map outputs: a time line per interval).
    WallTime,
    /// Event outputs: no header line (sentence outputs, as oomkill's).
    NoHeader,
    /// Map outputs: a `[HH:MM:SS]` line before each print, as libbpf-tools
    /// syscount prints it.
    BracketedTimeLine,
    /// Show times in this unit instead of the output's default (`msecs`, `nsecs`).
    Unit(&'static str),
    /// Print only the first VALUE rows of a table.
    Top,
    /// Keep only events whose field (an event member name) contains VALUE.
    Contains(&'static str),
    /// Put `"` around the items of [`Format::ArgList`] columns.
    Quote,
    /// Open the cgroup at VALUE and store its fd at index 0 of this
    /// `BPF_MAP_TYPE_CGROUP_ARRAY` map (with [`Effect::Enable`]`("filter_cg")`).
    CgroupMap(&'static str),
    /// Attach uprobes to the binary or library at VALUE instead of the one in SEC().
    UprobeBinary,
    /// Attach uprobes to VALUE followed by the symbol in SEC() (memleak's
    /// `-S je_` for jemalloc's `je_malloc`); the variant's optional
    /// programs whose prefixed symbol is missing are left out.
    UprobeSymbolPrefix,
    /// Start the command line VALUE (split at whitespace, looked up in
    /// `PATH`) held before its exec, give its process ID to the flag
    /// `pid_flag` as if that was given, let it exec once everything is
    /// attached, and end the run when it ends: held at its exit, before its
    /// memory is gone, until the final output is written, so that its user
    /// stacks still symbolize. A run that ends first (Ctrl-C, `-d`) stops it
    /// with SIGTERM, as libbpf-tools memleak's `-c`.
    Command { pid_flag: &'static str },
    /// Sample perf_event programs at VALUE Hz (software CPU clock, every CPU).
    SampleFrequency,
    /// Print each event as `field: value` lines instead of a table row.
    Detailed,
    /// Print the names of the syscalls this machine knows, and exit.
    ListSyscalls,
    /// Attach the XDP and tc programs to the network interface VALUE (a
    /// name such as `eth0`); tc programs go on tcx, or clsact before 6.6.
    Interface,
    /// Put each comma-separated prefix of VALUE (`10.0.0.0/8`, `fd00::/8`;
    /// a bare address is a /32 or /128) into the LPM trie `v4` or `v6` by
    /// family: key `{u32 prefixlen; u8 addr[4 or 16]}` (address in network
    /// byte order), value the prefix length as a u32.
    PrefixRules { v4: &'static str, v6: &'static str },
    /// Put each comma-separated `PROTO[:PORT]` of VALUE (`tcp:80`, `udp`,
    /// `icmp`, or a protocol number; no port: every port) into this hash
    /// map: key `{u8 proto; u8 pad; u16 port}` (port in host byte order, 0
    /// for every port), value 1 (u32).
    PortRules(&'static str),
    /// Stack outputs: print folded stacks (`comm;outer;...;inner count`,
    /// flamegraph.pl's input) instead of indented frames.
    Folded,
    /// Stack outputs: also write an SVG flame graph to the file VALUE.
    FlameGraph,
    /// Stack outputs: leave out map entries whose FIELD (named as in
    /// [`Column::field`]), a `bpf_ktime_get_ns()` timestamp, is less than
    /// VALUE milliseconds old when the map is read (memleak's `-o`: only
    /// allocations outstanding for a while are leak suspects).
    OlderThan(&'static str),
}

/// A condition on which flags were given, by long name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    With(&'static str),
    Without(&'static str),
    WithAny(&'static [&'static str]),
    /// Every one of these flags was given.
    WithAll(&'static [&'static str]),
}

impl When {
    /// Whether the condition holds, `given(long)` telling whether a flag was given.
    pub fn holds(&self, given: &dyn Fn(&str) -> bool) -> bool {
        match self {
            When::Always => true,
            When::With(flag) => given(flag),
            When::Without(flag) => !given(flag),
            When::WithAny(flags) => flags.iter().any(|f| given(f)),
            When::WithAll(flags) => flags.iter().all(|f| given(f)),
        }
    }
}

/// How results are shown.
#[derive(Debug)]
pub enum Output {
    /// One row per `struct event` from the ring buffer `events`.
    Events {
        when: When,
        columns: &'static [Column],
        /// Runtime options on without a flag (sigsnoop always shows `TIME`).
        defaults: &'static [Runtime],
    },
    /// One histogram per key of `map`, its buckets in the value member `slots`.
    /// The shown `keys` label each histogram as `header = value`, or just
    /// `value` for an empty header, joined by spaces (`pid = 42 bash`, as
    /// libbpf-tools prints it); when none is shown the map holds a single
    /// histogram. Keys whose buckets are all empty are not shown.
    Histogram {
        when: When,
        map: &'static str,
        slots: &'static str,
        scale: Scale,
        /// The unit of the bucket values (`usecs`); [`Runtime::Unit`] replaces it.
        unit: &'static str,
        keys: &'static [Column],
    },
    /// One row per key of `map`, sorted (descending) by the first sort field
    /// whose `when` holds.
    Table {
        when: When,
        map: &'static str,
        /// Runtime options on without a flag (syscount's `[HH:MM:SS]` line).
        defaults: &'static [Runtime],
        /// Time unit for `{unit}` headers and [`Format::Nanos`]; [`Runtime::Unit`] replaces it.
        unit: &'static str,
        columns: &'static [Column],
        sort: &'static [(When, &'static str)],
    },
}

impl Output {
    pub fn when(&self) -> When {
        match self {
            Output::Events { when, .. }
            | Output::Histogram { when, .. }
            | Output::Table { when, .. } => *when,
        }
    }
}

/// Results that are stack traces (profile, offcputime, memleak): counts per
/// key of `map`, where the key (or value) holds ids of stacks in the
/// `BPF_MAP_TYPE_STACK_TRACE` map `stack_map`. Fields are named as in
/// [`Column::field`]; `value` alone is a scalar value. Shown symbolized
/// (bpfkit-symbolize): per key the frames, innermost first, and the
/// weight, or with [`Runtime::Folded`] one folded line per key
/// (`comm;outer;...;inner weight`, kernel frames after user frames), and
/// with [`Runtime::FlameGraph`] an SVG. A negative stack id means that stack
/// was not collected (`-U`/`-K`, kernel threads) or lost (`[Missed ...]`).
/// Found with [`ToolSpec::stack_output`]; the tool's [`Output::Table`]
/// shows the same map with raw stack ids where stacks cannot be shown.
#[derive(Debug)]
pub struct StackOutput {
    pub when: When,
    pub map: &'static str,
    pub stack_map: &'static str,
    pub kernel_stack: Option<&'static str>,
    pub user_stack: Option<&'static str>,
    /// The process whose memory map resolves user frames.
    pub pid: Option<&'static str>,
    /// The first frame of folded lines.
    pub comm: Option<&'static str>,
    /// What each key weighs (summed over keys with the same frames).
    pub weight: &'static str,
    /// The unit of the weight: `samples`, `us`, `bytes`.
    pub unit: &'static str,
    /// Another value field summed and shown with the weight (memleak's
    /// number of allocations), or [`StackOutput::ENTRIES`].
    pub count: Option<&'static str>,
    /// Table mode as a numbered report (libbpf-tools memleak's) instead of
    /// bcc's indented stacks; [`Runtime::Top`] caps both.
    pub report: Option<StackReport>,
    /// A second stack in the same key, of the task that woke this one
    /// (offwaketime): shown with it, bcc's `target;...;--;...;waker` form.
    pub waker: Option<WakerStack>,
}

/// The waker's side of a [`StackOutput`] key; fields named as there.
#[derive(Debug, Clone, Copy)]
pub struct WakerStack {
    pub kernel_stack: Option<&'static str>,
    pub user_stack: Option<&'static str>,
    pub pid: Option<&'static str>,
    pub comm: Option<&'static str>,
}

/// A stack output's text as a report: `[HH:MM:SS] ` and the title, then
/// per stack, heaviest first, the entry line and its frames, numbered and
/// with their addresses (`\t0 [<00007f3a12345678>] malloc`), user frames
/// after kernel frames.
#[derive(Debug, Clone, Copy)]
pub struct StackReport {
    /// `{n}` is the number of stacks shown.
    pub title: &'static str,
    /// `{weight}` and `{count}` are the stack's weight and count.
    pub entry: &'static str,
    /// After the frames: `{comm}` and `{pid}` are the process's (where
    /// libbpf-tools shows none, kernel-wide stacks would be anonymous; a
    /// line of its own, not numbered, leaves their lines as they are).
    pub process: &'static str,
}

impl StackOutput {
    /// A [`StackOutput::count`] that counts the map entries with the same
    /// stacks (memleak's allocations, in a map with one entry for each).
    /// No C member can have this name.
    pub const ENTRIES: &'static str = "#entries";
}

/// A line printed from the object's `.bss`/`.data` globals (counters kept
/// next to the maps) before a map output, at each interval and at the end:
/// `{NAME}` is the global NAME, as libbpf-tools readahead's
/// `Readahead unused/total pages: {unused_pages}/{total_pages}`. Found with
/// [`ToolSpec::summaries`].
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub when: When,
    pub text: &'static str,
}

/// Histogram bucket layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Slot i counts values in [2^i, 2^(i+1)); slot 0 also counts 0.
    Log2,
    /// Slot i counts the value i; the last slot also counts everything above.
    Linear,
}

/// A column of an event row or table, or a histogram key label.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header text; `{unit}` is replaced by the current time unit.
    pub header: &'static str,
    /// Member of the event struct; in tables and histogram labels `key` is a
    /// scalar key, `key.NAME` a member of the key struct and a bare `NAME` a
    /// member of the value struct.
    pub field: &'static str,
    pub width: u8,
    pub align: Align,
    pub format: Format,
    pub when: When,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// How a field's value is written, beyond what its BTF type says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// By BTF type: integers in decimal, `char[]` as a string, enums by name.
    Plain,
    /// Octal with a leading 0 (open flags).
    Octal,
    /// Hexadecimal with 0x.
    Hex,
    /// An errno as its name (`ENOENT`); a negative value (a kernel return)
    /// is negated first; 0 and positive values stay numbers.
    Errno,
    /// A signal number as its name (`SIGKILL`); 0 as `-`.
    Signal,
    /// An x86_64 syscall number as its name.
    Syscall,
    /// A kernel dev_t as a disk name (`vda`); 0 as `?`.
    Disk,
    /// Nanoseconds in the current time unit, with this many decimals.
    Nanos(u8),
    /// value / divisor, with this many decimals (`AGE(s)`: 1e9, 2).
    Scaled(u64, u8),
    /// The value as a percentage of the sum of these fields.
    PercentOf(&'static [&'static str]),
    /// The sum of these fields (the column's own field is ignored).
    SumOf(&'static [&'static str]),
    /// The value divided by this field, rounded down; 0 when that field is
    /// 0. A sum over a count is an average (tcprtt's `-e`: `latency / cnt`).
    DividedBy(&'static str),
    /// The value as an index into this table of names.
    Names(&'static [&'static str]),
    /// NUL-separated strings, joined with spaces. `count` names the member
    /// holding how many there are; a count of `max_param` + 1 means the list
    /// was cut short and is shown with a trailing ` ...`.
    ArgList {
        count: &'static str,
        max_param: &'static str,
    },
    /// A process's end as libbpf-tools exitsnoop prints it, from the
    /// column's field (the exit code), the killing signal's field and the
    /// core dump flag's field: `0`, `code 7`, `signal 9 (Killed)`, `signal
    /// 11 (Segmentation fault), core dumped`.
    ExitStatus {
        signal: &'static str,
        core: &'static str,
    },
    /// Return addresses (the column's field: a `u64[]` member, innermost
    /// first, 0 after the last), symbolized one per line under the row, as
    /// bcc's capable -K/-U prints them: `pid` names the member with the
    /// process whose user addresses they are, `None` means kernel
    /// addresses; `missing` is the line for an empty stack (nothing when
    /// empty). The column comes last, with an empty header.
    Stack {
        pid: Option<&'static str>,
        missing: &'static str,
    },
    /// A system call as libbpf-tools mountsnoop (and strace) writes it,
    /// `name(arg, ...) = ret`: the call is `calls[op]` (`op` an event
    /// member), the return value the column's own field (a number, or
    /// `-ENAME` when negative).
    Call {
        op: &'static str,
        calls: &'static [Call],
    },
    /// A sentence (the column's own field is ignored): `{NAME}` is the
    /// event member NAME (a number, or a `char[]` as text), `{/PATH}` the
    /// first line of the file PATH when the event is printed (oomkill's
    /// `{/proc/loadavg}`); a file that cannot be read leaves that
    /// placeholder empty.
    Sentence(&'static str),
}

/// One system call of a [`Format::Call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    pub name: &'static str,
    pub args: &'static [Arg],
}

/// An argument of a [`Call`]: an event member and how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub field: &'static str,
    pub kind: ArgKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A string, in double quotes.
    Str,
    /// A number.
    Int,
    /// A directory fd: `AT_FDCWD` by name, others as numbers.
    DirFd,
    /// Bit flags by name, ` | ` between them, `0x0` for none; bits
    /// without a name in hex after the named ones.
    Flags(&'static [(u64, &'static str)]),
    /// [`ArgKind::Flags`] in double quotes (libbpf-tools' fsmount and
    /// move_mount flags).
    QuotedFlags(&'static [(u64, &'static str)]),
    /// The value as an index into names, in double quotes (fsconfig's
    /// command, as libbpf-tools); others as numbers.
    Names(&'static [&'static str]),
}

impl Column {
    /// A left-aligned, plain, always shown column.
    pub const fn new(header: &'static str, field: &'static str, width: u8) -> Column {
        Column {
            header,
            field,
            width,
            align: Align::Left,
            format: Format::Plain,
            when: When::Always,
        }
    }

    pub const fn right(mut self) -> Column {
        self.align = Align::Right;
        self
    }

    pub const fn fmt(mut self, format: Format) -> Column {
        self.format = format;
        self
    }

    pub const fn when(mut self, when: When) -> Column {
        self.when = when;
        self
    }
}

impl Flag {
    /// A switch (no value) with these effects.
    pub const fn switch(
        short: Option<char>,
        long: &'static str,
        help: &'static str,
        effects: &'static [Effect],
    ) -> Flag {
        Flag {
            short,
            long,
            value: Value::Switch,
            help,
            default: None,
            effects,
        }
    }

    /// An option taking a value.
    pub const fn named(
        short: Option<char>,
        long: &'static str,
        metavar: &'static str,
        parse: Parse,
        help: &'static str,
        effects: &'static [Effect],
    ) -> Flag {
        Flag {
            short,
            long,
            value: Value::Named(metavar, parse),
            help,
            default: None,
            effects,
        }
    }

    /// A positional argument, referred to as `long` in the spec and shown as
    /// `metavar` in help.
    pub const fn positional(
        long: &'static str,
        metavar: &'static str,
        parse: Parse,
        help: &'static str,
        effects: &'static [Effect],
    ) -> Flag {
        Flag {
            short: None,
            long,
            value: Value::Positional(metavar, parse),
            help,
            default: None,
            effects,
        }
    }

    pub const fn default(mut self, value: &'static str) -> Flag {
        self.default = Some(value);
        self
    }

    /// The `const volatile` variables this flag sets.
    pub fn params(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.effects.iter().flat_map(|e| match e {
            Effect::Param(name)
            | Effect::Enable(name)
            | Effect::ParamScaled(name, _)
            | Effect::ParamList(name) => vec![*name],
            Effect::Runtime(_) | Effect::MapSize(..) => vec![],
        })
    }
}

impl ToolSpec {
    pub fn flag(&self, long: &str) -> Option<&'static Flag> {
        self.flags.iter().find(|f| f.long == long)
    }

    pub fn variant(&self, label: &str) -> Option<&'static Variant> {
        self.variants.iter().find(|v| v.label == label)
    }

    /// Variants to try, best first, for the flags given: the flag-selected
    /// ones if such a flag was given, otherwise the automatic ones.
    pub fn candidate_variants(&self, given: &dyn Fn(&str) -> bool) -> Vec<&'static Variant> {
        self.candidate_variants_for(given, &|_, _| false)
    }

    /// The candidates, best first, when flags have values: `has(long,
    /// value)` tells whether the flag `long` has that value (for
    /// [`Variant::only_for`]).
    pub fn candidate_variants_for(
        &self,
        given: &dyn Fn(&str) -> bool,
        has: &dyn Fn(&str, &str) -> bool,
    ) -> Vec<&'static Variant> {
        let valued = |v: &Variant| match v.only_for {
            Some((long, wanted)) => has(long, wanted),
            None => true,
        };
        let selected: Vec<_> = self
            .variants
            .iter()
            .filter(|v| v.only_with.is_some_and(given) && valued(v))
            .collect();
        if !selected.is_empty() {
            return selected;
        }
        self.variants
            .iter()
            .filter(|v| v.only_with.is_none() && valued(v))
            .collect()
    }

    /// The stack output to use for the flags given, for tools whose
    /// results are stacks.
    pub fn stack_output(&self, given: &dyn Fn(&str) -> bool) -> Option<&'static StackOutput> {
        specs::stack_outputs(self.name)
            .iter()
            .find(|o| o.when.holds(given))
    }

    /// The summary lines (their text) for the flags given.
    pub fn summaries(&self, given: &dyn Fn(&str) -> bool) -> Vec<&'static str> {
        specs::summaries(self.name)
            .iter()
            .filter(|s| s.when.holds(given))
            .map(|s| s.text)
            .collect()
    }

    /// The output to use for the flags given.
    pub fn output(&self, given: &dyn Fn(&str) -> bool) -> Option<&'static Output> {
        self.outputs.iter().find(|o| o.when().holds(given))
    }
}

/// The event members a [`Format::Sentence`] reads: its `{NAME}`
/// placeholders, not the `{/PATH}` files.
pub fn sentence_fields(text: &str) -> impl Iterator<Item = &str> {
    sentence_parts(text).filter_map(|part| match part {
        SentencePart::Field(name) => Some(name),
        _ => None,
    })
}

/// A piece of a [`Format::Sentence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentencePart<'a> {
    Text(&'a str),
    Field(&'a str),
    File(&'a str),
}

/// The pieces of a [`Format::Sentence`], in order; an unclosed `{` is text.
pub fn sentence_parts(text: &str) -> impl Iterator<Item = SentencePart<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let placeholder = rest
            .strip_prefix('{')
            .and_then(|after| after.split_once('}'));
        if let Some((name, after)) = placeholder {
            rest = after;
            return Some(match name.starts_with('/') {
                true => SentencePart::File(name),
                false => SentencePart::Field(name),
            });
        }
        let end = rest[1..].find('{').map_or(rest.len(), |i| i + 1);
        let (text, after) = rest.split_at(end);
        rest = after;
        Some(SentencePart::Text(text))
    })
}

/// Every built-in tool, in the order `bpfkit tools` lists them.
pub fn all() -> &'static [ToolSpec] {
    specs::ALL
}

/// The built-in tool with this name.
pub fn find(name: &str) -> Option<&'static ToolSpec> {
    all().iter().find(|t| t.name == name)
}
