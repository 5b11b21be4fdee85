//! User ids to user names, from `/etc/passwd`.

use std::collections::HashMap;

/// A uid → name table, read once.
#[derive(Debug, Default, Clone)]
pub struct Users {
    names: HashMap<u32, String>,
}

impl Users {
    /// Reads `/etc/passwd`; an unreadable file gives an empty table (uids
    /// are then shown as numbers).
    pub fn load() -> Users {
        std::fs::read_to_string("/etc/passwd")
            .map(|text| Users::parse(&text))
            .unwrap_or_default()
    }

    /// Parses passwd(5) text: `name:password:uid:...`.
    pub fn parse(text: &str) -> Users {
        let mut names = HashMap::new();
        for line in text.lines() {
            let mut parts = line.split(':');
            let (Some(name), Some(_), Some(uid)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if let Ok(uid) = uid.parse() {
                names.entry(uid).or_insert_with(|| name.to_string());
            }
        }
        Users { names }
    }

    pub fn name(&self, uid: u32) -> Option<&str> {
        self.names.get(&uid).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd() {
        let u = Users::parse(
            "root:x:0:0:root:/root:/bin/bash\nbroken\nnobody:x:65534:65534::/:/sbin/nologin\n",
        );
        assert_eq!(u.name(0), Some("root"));
        assert_eq!(u.name(65534), Some("nobody"));
        assert_eq!(u.name(1000), None);
    }
}
