//! `bpfkit map [list|show|dump|lookup|update|delete|pin] [id N | name NAME
//! | pinned PATH]`: any map in the kernel. `dump` and `lookup` decode keys
//! and values through the map's BTF with the renderer `bpfkit run` uses
//! (field meaning, log2 histograms for `slots[]`), and fall back to
//! bpftool's hex for maps without BTF. Keys and values given to `lookup`,
//! `update` and `delete` are bytes like bpftool's, or one JSON word that
//! the map's BTF turns into bytes (`key 42 value '{"count": 0}'`).

use anyhow::{Context, Result, bail};
use bpfkit_btf::{Btf, TypeId};
use bpfkit_output::{MapView, Mode, SnapshotOptions, WriteSink, render_map, sum_per_cpu};
use bpfkit_sys::{Holders, MapInfo};
use clap::Args;
use serde_json::json;
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;

use super::inspect::{self, JsonArgs, Selector};

#[derive(Args)]
#[command(after_help = "EXAMPLES:
    bpfkit map
    bpfkit map show name counts -p
    bpfkit map dump id 17
    bpfkit map dump name hist --percpu
    bpfkit map lookup id 17 key 1 0 0 0
    bpfkit map lookup pinned /sys/fs/bpf/x key hex 2a 00 00 00
    bpfkit map update name stats key 42 value '{\"count\": 0, \"comm\": \"bash\"}'
    bpfkit map update id 17 key 1 0 0 0 value hex 07 00 00 00 00 00 00 00 noexist
    bpfkit map delete name stats key 42
    bpfkit map pin id 17 /sys/fs/bpf/counts")]
pub struct MapArgs {
    /// `[list|show|dump] [MAP]`, `lookup|delete MAP key DATA`,
    /// `update MAP key DATA value DATA [any|exist|noexist]`, `pin MAP FILE`;
    /// MAP is `id N | name NAME | pinned PATH`, DATA bytes or one JSON word
    #[arg(value_name = "ARGS")]
    words: Vec<String>,
    /// Per-CPU maps: show each CPU's value instead of their sum.
    #[arg(long)]
    percpu: bool,
    #[command(flatten)]
    json: JsonArgs,
}

const SELECTORS: &[&str] = &["id", "name", "pinned"];

pub fn run(args: MapArgs) -> Result<ExitCode> {
    let actions = ["list", "show", "dump", "lookup", "update", "delete", "pin"];
    let (action, rest) = inspect::split_action(&args.words, &actions);
    let (selector, extra) = Selector::parse(rest, SELECTORS)?;
    match action {
        "dump" => {
            if let Some(word) = extra.first() {
                bail!("unexpected '{word}' after the map selector");
            }
            dump(&one_map(&selector)?, None, &args)?;
        }
        "lookup" => {
            let Some(("key", words)) = extra.split_first().map(|(w, r)| (w.as_str(), r)) else {
                bail!("map lookup needs 'key DATA' after the map");
            };
            let key = alone(Data::parse(words, "key")?)?;
            let map = one_map(&selector)?;
            let key = key.key_bytes(&map.0)?;
            dump(&map, Some(&key), &args)?;
        }
        "update" => update(&selector, extra)?,
        "delete" => delete(&selector, extra)?,
        "pin" => {
            let path = inspect::one_path(extra, "map pin")?;
            let (info, fd) = one_map(&selector)?;
            let what = format!("map {} ({})", info.id, info.name);
            inspect::pin(&fd, std::path::Path::new(path), &what)?;
        }
        _ => {
            if let Some(word) = extra.first() {
                bail!("unexpected '{word}' after the map selector");
            }
            list(&selector, args.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A key or value as the user wrote it: bpftool's bytes, or one word of
/// JSON for the map's BTF to encode.
enum Data<'w> {
    Bytes(Vec<u8>),
    Json(&'w str),
}

impl<'w> Data<'w> {
    /// `DATA` after `what` (`key`/`value`), and the words after it (the
    /// next keyword ends a list of bytes).
    fn parse(words: &'w [String], what: &str) -> Result<(Data<'w>, &'w [String])> {
        let end = words
            .iter()
            .position(|w| matches!(w.as_str(), "value" | "any" | "exist" | "noexist"))
            .unwrap_or(words.len());
        let (data, rest) = words.split_at(end);
        let data = match data {
            [] => bail!(
                "'{what}' needs data: bytes like '1 0 0 0' or 'hex 01 00 00 00', or JSON like '42' or '{{\"count\": 0}}'"
            ),
            // One word: JSON for the BTF type (a byte without BTF).
            [word] if word != "hex" => Data::Json(word),
            bytes => Data::Bytes(parse_bytes(bytes)?),
        };
        Ok((data, rest))
    }

    /// The bytes for a type of `size` bytes, `ty` in `btf` when the map
    /// has one: a single byte word is the number for a typed field, the
    /// byte for an untyped one-byte field.
    fn bytes(&self, types: Option<(&Btf, TypeId)>, size: usize, what: &str) -> Result<Vec<u8>> {
        let bytes = match (self, types) {
            (Data::Bytes(b), _) => b.clone(),
            (Data::Json(word), Some((btf, ty))) => {
                let value: serde_json::Value = serde_json::from_str(word)
                    .unwrap_or_else(|_| serde_json::Value::String(word.to_string()));
                bpfkit_btf::value_in::encode_json(btf, ty, &value)
                    .with_context(|| format!("the {what} {word}"))?
            }
            (Data::Json(word), None) if is_byte(word) => parse_bytes(&[word.to_string()])?,
            (Data::Json(word), None) => bail!(
                "the map has no BTF for its {what}s, so '{word}' cannot be encoded; give bytes ('hex 01 00 00 00')"
            ),
        };
        if bytes.len() != size {
            bail!(
                "the {what} is {} bytes, the map's {what}s are {size}",
                bytes.len()
            );
        }
        Ok(bytes)
    }

    fn key_bytes(&self, info: &MapInfo) -> Result<Vec<u8>> {
        let types = map_types(info)?;
        let key = types.as_ref().and_then(|t| Some((&t.btf, t.key?)));
        self.bytes(key, info.key_size as usize, "key")
    }
}

/// The data with nothing after it.
fn alone<T>((data, rest): (T, &[String])) -> Result<T> {
    match rest.first() {
        Some(word) => bail!("unexpected '{word}' after the data"),
        None => Ok(data),
    }
}

fn is_byte(word: &str) -> bool {
    parse_bytes(&[word.to_string()]).is_ok()
}

/// `update MAP key DATA value DATA [any|exist|noexist]`.
fn update(selector: &Selector, words: &[String]) -> Result<()> {
    let Some(("key", words)) = words.split_first().map(|(w, r)| (w.as_str(), r)) else {
        bail!("map update needs 'key DATA value DATA' after the map");
    };
    let (key, words) = Data::parse(words, "key")?;
    let Some(("value", words)) = words.split_first().map(|(w, r)| (w.as_str(), r)) else {
        bail!("map update needs 'value DATA' after the key");
    };
    let (value, words) = Data::parse(words, "value")?;
    let flags = match words {
        [] => bpfkit_sys::BPF_ANY,
        [flag] if flag == "any" => bpfkit_sys::BPF_ANY,
        [flag] if flag == "exist" => bpfkit_sys::BPF_EXIST,
        [flag] if flag == "noexist" => bpfkit_sys::BPF_NOEXIST,
        [word, ..] => bail!("unexpected '{word}' after the value (any, exist or noexist)"),
    };
    let (info, fd) = &one_map(selector)?;
    let what = || format!("map {} ({})", info.id, info.name);
    let key = key.key_bytes(info)?;
    let types = map_types(info)?;
    let value_type = types.as_ref().map(|t| (&t.btf, t.value));
    let value = value.bytes(value_type, info.value_size as usize, "value")?;
    let value = per_cpu_copies(info, value)?;
    bpfkit_sys::map_update(fd.as_fd(), &key, &value, flags).map_err(|e| {
        let why = match e.errno() {
            Some(libc::EEXIST) => "the key exists (noexist)".to_string(),
            Some(libc::ENOENT) => "no entry with that key (exist)".to_string(),
            Some(libc::E2BIG) => format!("the map is full ({} entries)", info.max_entries),
            _ => e.to_string(),
        };
        anyhow::anyhow!("updating {}: {why}", what())
    })
}

/// A per-CPU map takes one value per possible CPU (each 8-byte aligned):
/// the value given goes to every CPU, as bpftool does.
fn per_cpu_copies(info: &MapInfo, value: Vec<u8>) -> Result<Vec<u8>> {
    if !bpfkit_sys::is_percpu(info.map_type) {
        return Ok(value);
    }
    let total = bpfkit_sys::percpu_value_size(info.value_size).context("counting CPUs")?;
    let step = (info.value_size as usize).next_multiple_of(8);
    let mut all = vec![0u8; total];
    for slot in all.chunks_mut(step) {
        slot[..value.len()].copy_from_slice(&value);
    }
    Ok(all)
}

/// `delete MAP key DATA`.
fn delete(selector: &Selector, words: &[String]) -> Result<()> {
    let Some(("key", words)) = words.split_first().map(|(w, r)| (w.as_str(), r)) else {
        bail!("map delete needs 'key DATA' after the map");
    };
    let key = alone(Data::parse(words, "key")?)?;
    let (info, fd) = &one_map(selector)?;
    let key = key.key_bytes(info)?;
    let what = || format!("map {} ({})", info.id, info.name);
    let found = bpfkit_sys::map_delete(fd.as_fd(), &key)
        .with_context(|| format!("deleting a key of {}", what()))?;
    if !found {
        bail!("{}: no entry with key {}", what(), hex_text(&key));
    }
    Ok(())
}
fn list(selector: &Selector, out: JsonArgs) -> Result<()> {
    let maps: Vec<MapInfo> = select(selector)?.into_iter().map(|(i, _)| i).collect();
    if maps.is_empty() && selector.names_one() {
        return Err(inspect::not_found(selector, "map"));
    }
    let holders = bpfkit_runtime::holders();
    if out.is_json() {
        let rows: Vec<_> = maps.iter().map(|m| map_json(m, &holders)).collect();
        return out.write_rows(selector, rows);
    }
    let rows: Vec<Vec<String>> = maps
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                bpfkit_object::map_type_name(m.map_type).to_string(),
                m.name.clone(),
                m.key_size.to_string(),
                m.value_size.to_string(),
                m.max_entries.to_string(),
                format!("{:#x}", m.map_flags),
                m.btf_id.to_string(),
                inspect::holders_cell(holders.maps.get(&m.id)),
            ]
        })
        .collect();
    crate::out::stdout(inspect::table(
        &[
            "ID", "TYPE", "NAME", "KEY", "VALUE", "MAX", "FLAGS", "BTF", "PIDS",
        ],
        &rows,
    ))
}

fn map_json(m: &MapInfo, holders: &Holders) -> serde_json::Value {
    json!({
        "id": m.id,
        "type": bpfkit_object::map_type_name(m.map_type),
        "name": m.name,
        "flags": m.map_flags,
        "bytes_key": m.key_size,
        "bytes_value": m.value_size,
        "max_entries": m.max_entries,
        "btf_id": m.btf_id,
        "pids": inspect::holders_json(holders.maps.get(&m.id)),
    })
}

/// The maps `selector` names, with an open fd each, ascending by id.
fn select(selector: &Selector) -> Result<Vec<(MapInfo, OwnedFd)>> {
    let pinned = |path: &std::path::Path| {
        inspect::pinned_id(path, "map", |fd| {
            bpfkit_sys::map_info(fd.as_fd()).map(|i| i.id)
        })
    };
    let ids = inspect::candidate_ids(selector, bpfkit_sys::map_ids, pinned, "map")?;
    let mut found = Vec::new();
    for id in ids {
        let read = || -> bpfkit_sys::Result<Option<(MapInfo, OwnedFd)>> {
            let Some(fd) = inspect::gone(bpfkit_sys::map_fd_by_id(id))? else {
                return Ok(None);
            };
            Ok(inspect::gone(bpfkit_sys::map_info(fd.as_fd()))?.map(|info| (info, fd)))
        };
        let Some((info, fd)) = read().with_context(|| format!("reading map {id}"))? else {
            continue;
        };
        if matches!(selector, Selector::Name(n) if *n != info.name) {
            continue;
        }
        found.push((info, fd));
    }
    Ok(found)
}

/// Exactly one map: `dump` and `lookup` need one.
fn one_map(selector: &Selector) -> Result<(MapInfo, OwnedFd)> {
    if *selector == Selector::All {
        bail!("name the map: id N, name NAME or pinned PATH");
    }
    let mut maps = select(selector)?;
    match maps.len() {
        0 => Err(inspect::not_found(selector, "map")),
        1 => Ok(maps.remove(0)),
        n => {
            let ids: Vec<String> = maps.iter().map(|(m, _)| m.id.to_string()).collect();
            bail!("{n} maps match (ids {}); give an id", ids.join(", "))
        }
    }
}

/// bpftool's key bytes: `1 0 0 0`, `0x2a 0 0 0`, or `hex 2a 00 00 00`.
fn parse_bytes(words: &[String]) -> Result<Vec<u8>> {
    let (radix, words) = match words.split_first() {
        Some((first, rest)) if first == "hex" => (16, rest),
        _ => (10, words),
    };
    if words.is_empty() {
        bail!("'key' needs bytes, e.g. 'key 1 0 0 0' or 'key hex 01 00 00 00'");
    }
    words
        .iter()
        .map(|w| {
            let parsed = match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
                Some(hex) => u8::from_str_radix(hex, 16),
                None => u8::from_str_radix(w, radix),
            };
            parsed.with_context(|| format!("'{w}' is not a byte (0-255, or hex after 'hex')"))
        })
        .collect()
}

/// The map's key and value types, when its BTF has them.
struct Types {
    btf: Btf,
    key: Option<TypeId>,
    value: TypeId,
}

fn map_types(info: &MapInfo) -> Result<Option<Types>> {
    if info.btf_id == 0 || info.btf_value_type_id == 0 {
        return Ok(None);
    }
    let btf = super::btf::btf_from_kernel(info.btf_id)
        .with_context(|| format!("reading the BTF of map {}", info.id))?;
    Ok(Some(Types {
        btf,
        key: (info.btf_key_type_id != 0).then_some(info.btf_key_type_id),
        value: info.btf_value_type_id,
    }))
}

/// Reads all entries (or the one `key`) and prints them.
fn dump(map: &(MapInfo, OwnedFd), key: Option<&[u8]>, args: &MapArgs) -> Result<()> {
    let (info, fd) = map;
    let what = || format!("map {} ({})", info.id, info.name);
    let per_cpu = bpfkit_sys::is_percpu(info.map_type);
    let value_len = if per_cpu {
        bpfkit_sys::percpu_value_size(info.value_size).context("counting CPUs")?
    } else {
        info.value_size as usize
    };
    let entries = match key {
        Some(key) => {
            if key.len() != info.key_size as usize {
                bail!(
                    "{}: the key is {} bytes, the map's keys are {}",
                    what(),
                    key.len(),
                    info.key_size
                );
            }
            let mut value = vec![0u8; value_len];
            if !bpfkit_sys::map_lookup(fd.as_fd(), key, &mut value)
                .with_context(|| format!("looking up a key in {}", what()))?
            {
                bail!("{}: no entry with key {}", what(), hex_text(key));
            }
            vec![(key.to_vec(), value)]
        }
        None => {
            if !bpfkit_runtime::can_list(info.map_type) {
                bail!(
                    "{}: maps of type {} cannot be dumped",
                    what(),
                    bpfkit_object::map_type_name(info.map_type)
                );
            }
            bpfkit_sys::map_entries(fd.as_fd())
                .with_context(|| format!("reading {}", what()))?
                .into_iter()
                .map(|e| (e.key, e.value))
                .collect()
        }
    };
    let cpu_values = |value: &[u8]| -> Vec<Vec<u8>> {
        if !per_cpu {
            return vec![value.to_vec()];
        }
        bpfkit_sys::percpu_slots(value, info.value_size as usize)
            .map(<[u8]>::to_vec)
            .collect()
    };
    let text = match map_types(info)? {
        Some(types) if datasec(&types).is_some() => globals(&types, info, &entries, args.json)?,
        Some(types) if per_cpu && args.percpu => {
            decoded_per_cpu(&types, info, &entries, &cpu_values, args.json)?
        }
        Some(types) => {
            let mut summed = Vec::with_capacity(entries.len());
            for (k, v) in &entries {
                let v = if per_cpu {
                    let slots = cpu_values(v);
                    let slots: Vec<&[u8]> = slots.iter().map(Vec::as_slice).collect();
                    sum_per_cpu(&types.btf, types.value, &slots)?
                } else {
                    v.clone()
                };
                summed.push((k.clone(), v));
            }
            rendered(&types, info, &summed, args.json)?
        }
        None => hex_dump(
            info,
            &entries,
            &cpu_values,
            per_cpu,
            key.is_none(),
            args.json,
        )?,
    };
    crate::out::stdout(text)
}

/// Entries through `bpfkit run`'s map renderer (tables, histograms).
fn rendered(
    types: &Types,
    info: &MapInfo,
    entries: &[(Vec<u8>, Vec<u8>)],
    out: JsonArgs,
) -> Result<String> {
    let view = MapView {
        name: &info.name,
        key_ty: types.key,
        value_ty: types.value,
    };
    let opts = SnapshotOptions {
        mode: if out.is_json() {
            Mode::Json
        } else {
            Mode::Table
        },
        ..Default::default()
    };
    let mut sink = WriteSink::new(Vec::new());
    render_map(&types.btf, &view, entries, &opts, &mut sink)
        .with_context(|| format!("printing map {} ({})", info.id, info.name))?;
    let text = String::from_utf8_lossy(&sink.into_inner()).into_owned();
    if out.pretty {
        let value: serde_json::Value =
            serde_json::from_str(&text).context("re-reading the map's JSON")?;
        return Ok(serde_json::to_string_pretty(&value)? + "\n");
    }
    Ok(text)
}

/// The variables of the value type when it is a DATASEC (`.bss`,
/// `.data`, `.rodata` maps of libbpf-loaded objects).
fn datasec(types: &Types) -> Option<&[bpfkit_btf::types::VarSecinfo]> {
    match &types.btf.get(types.value)?.kind {
        bpfkit_btf::types::Kind::Datasec(sec) => Some(&sec.vars),
        _ => None,
    }
}

/// A global-variable section: each variable by name with its decoded
/// value, like the `globals:` block `bpfkit run` prints at exit.
fn globals(
    types: &Types,
    info: &MapInfo,
    entries: &[(Vec<u8>, Vec<u8>)],
    out: JsonArgs,
) -> Result<String> {
    use bpfkit_btf::types::Kind;
    let vars = datasec(types).unwrap_or_default();
    let mut text = String::new();
    let mut values = serde_json::Map::new();
    for (_, bytes) in entries {
        for var in vars {
            let name = types.btf.name_of(var.ty).to_string();
            let ty = match types.btf.type_by_id(var.ty)?.kind {
                Kind::Var { ty, .. } => ty,
                _ => var.ty,
            };
            let range = var.offset as usize..(var.offset + var.size) as usize;
            let Some(slice) = bytes.get(range) else {
                bail!(
                    "map {} ({}): variable {name} lies past the value",
                    info.id,
                    info.name
                );
            };
            let value = bpfkit_btf::value::decode(&types.btf, ty, slice)?;
            text.push_str(&format!("{name} = {value}\n"));
            values.insert(name, bpfkit_btf::value::to_json(&value));
        }
    }
    if !out.is_json() {
        return Ok(text);
    }
    let doc = json!({"map": info.name, "globals": values});
    Ok(if out.pretty {
        serde_json::to_string_pretty(&doc)?
    } else {
        serde_json::to_string(&doc)?
    } + "\n")
}

/// `--percpu` with BTF: each CPU's decoded value under its key.
fn decoded_per_cpu(
    types: &Types,
    info: &MapInfo,
    entries: &[(Vec<u8>, Vec<u8>)],
    cpu_values: &dyn Fn(&[u8]) -> Vec<Vec<u8>>,
    out: JsonArgs,
) -> Result<String> {
    use bpfkit_btf::value::{decode, to_json};
    let decode_key = |k: &[u8]| -> Result<serde_json::Value> {
        Ok(match types.key {
            Some(ty) => to_json(&decode(&types.btf, ty, k)?),
            None => hex_json(k),
        })
    };
    let mut rows = Vec::new();
    let mut text = String::new();
    for (k, v) in entries {
        let key = decode_key(k)?;
        text.push_str(&format!("key: {key}\n"));
        let mut values = Vec::new();
        for (cpu, slot) in cpu_values(v).iter().enumerate() {
            let value = decode(&types.btf, types.value, slot)?;
            text.push_str(&format!("  cpu {cpu}: {value}\n"));
            values.push(json!({"cpu": cpu, "value": to_json(&value)}));
        }
        rows.push(json!({"key": key, "values": values}));
    }
    if out.is_json() {
        return json_text(info, rows, out);
    }
    Ok(text)
}

/// bpftool's hex form for maps without BTF.
fn hex_dump(
    info: &MapInfo,
    entries: &[(Vec<u8>, Vec<u8>)],
    cpu_values: &dyn Fn(&[u8]) -> Vec<Vec<u8>>,
    per_cpu: bool,
    count_line: bool,
    out: JsonArgs,
) -> Result<String> {
    let mut rows = Vec::new();
    let mut text = String::new();
    for (k, v) in entries {
        if per_cpu {
            text.push_str(&format!("key: {}\n", hex_text(k)));
            let mut values = Vec::new();
            for (cpu, slot) in cpu_values(v).iter().enumerate() {
                text.push_str(&format!("  cpu {cpu}: {}\n", hex_text(slot)));
                values.push(json!({"cpu": cpu, "value": hex_json(slot)}));
            }
            rows.push(json!({"key": hex_json(k), "values": values}));
        } else {
            text.push_str(&format!("key: {}  value: {}\n", hex_text(k), hex_text(v)));
            rows.push(json!({"key": hex_json(k), "value": hex_json(v)}));
        }
    }
    if out.is_json() {
        return json_text(info, rows, out);
    }
    if count_line {
        let plural = if entries.len() == 1 { "" } else { "s" };
        text.push_str(&format!("Found {} element{plural}\n", entries.len()));
    }
    Ok(text)
}

/// The same envelope the BTF renderer writes: `{"type":"map",...}`.
fn json_text(info: &MapInfo, rows: Vec<serde_json::Value>, out: JsonArgs) -> Result<String> {
    let doc = json!({"type": "map", "map": info.name, "entries": rows});
    Ok(if out.pretty {
        serde_json::to_string_pretty(&doc)?
    } else {
        serde_json::to_string(&doc)?
    } + "\n")
}

fn hex_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// bpftool -j's byte arrays: `["0x01","0x00",...]`.
fn hex_json(bytes: &[u8]) -> serde_json::Value {
    bytes.iter().map(|b| format!("{b:#04x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn key_bytes() {
        assert_eq!(
            parse_bytes(&words("1 0 0x2a 255")).unwrap(),
            [1, 0, 42, 255]
        );
        assert_eq!(parse_bytes(&words("hex 2a ff")).unwrap(), [42, 255]);
        assert!(parse_bytes(&words("256")).is_err());
        assert!(parse_bytes(&words("hex")).is_err());
        assert!(parse_bytes(&[]).is_err());
        assert_eq!(hex_json(&[1, 0xab]), json!(["0x01", "0xab"]));
    }
}
