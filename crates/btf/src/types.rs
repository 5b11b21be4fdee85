//! The BTF type model: one [`Type`] per type id, names kept as offsets into
//! the string section so that parsing vmlinux allocates as little as possible.

/// A BTF type id. Id 0 is `void`.
pub type TypeId = u32;

/// BTF kind numbers as the kernel defines them (`BTF_KIND_*`).
pub mod kind_no {
    pub const INT: u8 = 1;
    pub const PTR: u8 = 2;
    pub const ARRAY: u8 = 3;
    pub const STRUCT: u8 = 4;
    pub const UNION: u8 = 5;
    pub const ENUM: u8 = 6;
    pub const FWD: u8 = 7;
    pub const TYPEDEF: u8 = 8;
    pub const VOLATILE: u8 = 9;
    pub const CONST: u8 = 10;
    pub const RESTRICT: u8 = 11;
    pub const FUNC: u8 = 12;
    pub const FUNC_PROTO: u8 = 13;
    pub const VAR: u8 = 14;
    pub const DATASEC: u8 = 15;
    pub const FLOAT: u8 = 16;
    pub const DECL_TAG: u8 = 17;
    pub const TYPE_TAG: u8 = 18;
    pub const ENUM64: u8 = 19;
}

/// One BTF type: its name (an offset into the string section, 0 for none)
/// and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Type {
    pub name_off: u32,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Type id 0. Never appears in the type section itself.
    Void,
    Int(Int),
    Ptr(TypeId),
    Array(Array),
    Struct(Composite),
    Union(Composite),
    /// `BTF_KIND_ENUM` and `BTF_KIND_ENUM64` share one representation;
    /// [`Enum::is_64`] tells them apart.
    Enum(Enum),
    Fwd {
        is_union: bool,
    },
    Typedef(TypeId),
    Volatile(TypeId),
    Const(TypeId),
    Restrict(TypeId),
    TypeTag(TypeId),
    Func {
        proto: TypeId,
        linkage: Linkage,
    },
    FuncProto(FuncProto),
    Var {
        ty: TypeId,
        linkage: Linkage,
    },
    Datasec(Datasec),
    Float {
        size: u32,
    },
    DeclTag {
        ty: TypeId,
        /// -1 for the type itself, otherwise the member or parameter index.
        component_idx: i32,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int {
    /// Size in bytes of the storage.
    pub size: u32,
    pub signed: bool,
    pub char: bool,
    pub bool: bool,
    /// Bit offset of the value inside the storage (almost always 0).
    pub offset: u8,
    /// Number of value bits.
    pub bits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Array {
    pub elem: TypeId,
    pub index: TypeId,
    pub len: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite {
    pub size: u32,
    /// The `kind_flag` bit: member offsets carry a bitfield size.
    pub kind_flag: bool,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub name_off: u32,
    pub ty: TypeId,
    /// Offset of the member from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Width of a bitfield in bits; 0 for an ordinary member.
    pub bitfield_size: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    pub size: u32,
    /// The `kind_flag` bit: values are signed.
    pub signed: bool,
    pub is_64: bool,
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    pub name_off: u32,
    /// The raw value, sign-extended to 64 bits when the enum is signed.
    pub value: u64,
}

impl EnumValue {
    pub fn as_i64(&self) -> i64 {
        self.value as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    Static,
    Global,
    Extern,
    /// A value the kernel does not define; kept so that dumps stay faithful.
    Other(u32),
}

impl Linkage {
    pub(crate) fn from_raw(raw: u32) -> Linkage {
        match raw {
            0 => Linkage::Static,
            1 => Linkage::Global,
            2 => Linkage::Extern,
            other => Linkage::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncProto {
    pub ret: TypeId,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name_off: u32,
    /// 0 together with name 0 as the last parameter means `...`.
    pub ty: TypeId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datasec {
    pub size: u32,
    pub vars: Vec<VarSecinfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecinfo {
    pub ty: TypeId,
    pub offset: u32,
    pub size: u32,
}

impl Kind {
    /// The kernel's kind number.
    pub fn number(&self) -> u8 {
        use kind_no::*;
        match self {
            Kind::Void => 0,
            Kind::Int(_) => INT,
            Kind::Ptr(_) => PTR,
            Kind::Array(_) => ARRAY,
            Kind::Struct(_) => STRUCT,
            Kind::Union(_) => UNION,
            Kind::Enum(e) if e.is_64 => ENUM64,
            Kind::Enum(_) => ENUM,
            Kind::Fwd { .. } => FWD,
            Kind::Typedef(_) => TYPEDEF,
            Kind::Volatile(_) => VOLATILE,
            Kind::Const(_) => CONST,
            Kind::Restrict(_) => RESTRICT,
            Kind::Func { .. } => FUNC,
            Kind::FuncProto(_) => FUNC_PROTO,
            Kind::Var { .. } => VAR,
            Kind::Datasec(_) => DATASEC,
            Kind::Float { .. } => FLOAT,
            Kind::DeclTag { .. } => DECL_TAG,
            Kind::TypeTag(_) => TYPE_TAG,
        }
    }

    /// The upper-case kind name used by bpftool (`STRUCT`, `FUNC_PROTO`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Void => "UNKN",
            Kind::Int(_) => "INT",
            Kind::Ptr(_) => "PTR",
            Kind::Array(_) => "ARRAY",
            Kind::Struct(_) => "STRUCT",
            Kind::Union(_) => "UNION",
            Kind::Enum(e) if e.is_64 => "ENUM64",
            Kind::Enum(_) => "ENUM",
            Kind::Fwd { .. } => "FWD",
            Kind::Typedef(_) => "TYPEDEF",
            Kind::Volatile(_) => "VOLATILE",
            Kind::Const(_) => "CONST",
            Kind::Restrict(_) => "RESTRICT",
            Kind::Func { .. } => "FUNC",
            Kind::FuncProto(_) => "FUNC_PROTO",
            Kind::Var { .. } => "VAR",
            Kind::Datasec(_) => "DATASEC",
            Kind::Float { .. } => "FLOAT",
            Kind::DeclTag { .. } => "DECL_TAG",
            Kind::TypeTag(_) => "TYPE_TAG",
        }
    }

    /// The single type this kind refers to, for the kinds that refer to one
    /// (modifiers, pointers, typedefs, functions, variables, tags).
    pub fn referenced(&self) -> Option<TypeId> {
        match *self {
            Kind::Ptr(t)
            | Kind::Typedef(t)
            | Kind::Volatile(t)
            | Kind::Const(t)
            | Kind::Restrict(t)
            | Kind::TypeTag(t) => Some(t),
            Kind::Func { proto, .. } => Some(proto),
            Kind::Var { ty, .. } | Kind::DeclTag { ty, .. } => Some(ty),
            _ => None,
        }
    }

    /// True for the kinds that only qualify another type and are skipped
    /// when looking for what a value really is.
    pub fn is_modifier(&self) -> bool {
        matches!(
            self,
            Kind::Typedef(_)
                | Kind::Volatile(_)
                | Kind::Const(_)
                | Kind::Restrict(_)
                | Kind::TypeTag(_)
        )
    }

    /// Every type id this type mentions, in the order they appear.
    pub fn type_refs(&self) -> Vec<TypeId> {
        match self {
            Kind::Array(a) => vec![a.elem, a.index],
            Kind::Struct(c) | Kind::Union(c) => c.members.iter().map(|m| m.ty).collect(),
            Kind::FuncProto(p) => std::iter::once(p.ret)
                .chain(p.params.iter().map(|p| p.ty))
                .collect(),
            Kind::Datasec(d) => d.vars.iter().map(|v| v.ty).collect(),
            other => other.referenced().into_iter().collect(),
        }
    }
}
