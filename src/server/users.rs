//! What ACL changes do to connections: logging in, the permission check before a
//! command with its log entry, and the clients dropped when their user goes away or
//! loses channels they are subscribed to. Redis compat: acl.c.
use super::acl::{self, Denied, LogContext, LogEntry, User, DEFAULT_USER};
use super::Server;
use crate::cmd::spec::CommandSpec;

impl Server {
    /// Makes a connection run as `user` (logged in when `authenticated`).
    pub fn set_client_user(&mut self, cid: usize, user: usize, authenticated: bool) {
        let name = String::from_utf8_lossy(&self.acl.user(user).name).into_owned();
        if let Some(c) = self.clients.get_mut(cid) {
            c.user = user;
            c.user_name = name;
            c.authenticated = authenticated;
        }
    }

    /// Back to the default user, logged in only if it needs no password.
    /// Redis compat: networking.c clientSetDefaultAuth.
    pub fn set_client_default_user(&mut self, cid: usize) {
        let auth = self.acl.default_logs_in();
        self.set_client_user(cid, DEFAULT_USER, auth);
    }

    /// Logs the connection in as `name` if `pass` is right; a failure is logged.
    /// Redis compat: acl.c ACLAuthenticateUser.
    pub fn authenticate(&mut self, cid: usize, name: &[u8], pass: &[u8], cmd_name: &[u8]) -> bool {
        if let Some(id) = self.acl.id_of(name).filter(|&id| self.acl.user(id).password_ok(pass)) {
            self.set_client_user(cid, id, true);
            return true;
        }
        let ctx = self.log_context(cid);
        self.acl_log(cid, Denied::Auth, ctx, cmd_name.to_vec(), Some(name.to_vec()));
        false
    }

    fn log_context(&self, cid: usize) -> LogContext {
        if self.clients.get(cid).is_some_and(|c| c.multi.is_some()) {
            LogContext::Multi
        } else {
            LogContext::Toplevel
        }
    }

    /// Adds an ACL log entry for the connection `cid`.
    pub fn acl_log(&mut self, cid: usize, reason: Denied, context: LogContext, object: Vec<u8>, user: Option<Vec<u8>>) {
        let now = crate::clock::now_ms();
        let (cinfo, username) = match self.clients.get(cid) {
            Some(c) => (c.info_line(now), c.user_name.as_bytes().to_vec()),
            None => (String::new(), b"default".to_vec()),
        };
        let max = self
            .cfg
            .get("acllog-max-len")
            .and_then(|v| v.parse().ok())
            .unwrap_or(128);
        self.acl.log_event(
            LogEntry {
                count: 1,
                reason,
                context,
                object,
                username: user.unwrap_or(username),
                ctime_ms: now,
                cinfo,
            },
            max,
        );
    }

    /// Checks the connection's permissions for `argv` (command `id`); a refusal is
    /// logged in `context` (the queueing context when None) and returned.
    pub fn acl_check(
        &mut self,
        cid: usize,
        id: usize,
        spec: &CommandSpec,
        argv: &[&[u8]],
        context: Option<LogContext>,
    ) -> Result<(), Denied> {
        let user = self.clients.get(cid).map(|c| c.user).unwrap_or(DEFAULT_USER);
        let Err((denied, pos)) = self.acl.user(user).check(id, spec, argv) else {
            return Ok(());
        };
        let object = match denied {
            Denied::Cmd => crate::cmd::table()
                .names
                .get(id)
                .cloned()
                .unwrap_or_default()
                .into_bytes(),
            _ => argv.get(pos).map(|a| a.to_vec()).unwrap_or_default(),
        };
        let context = context.unwrap_or_else(|| self.log_context(cid));
        self.acl_log(cid, denied, context, object, None);
        Err(denied)
    }

    /// Stores an edited user; connections subscribed to channels it may no longer
    /// use are closed. Redis compat: acl.c ACLStringSetUser, ACLKillPubsubClientsIfNeeded.
    pub fn acl_put_user(&mut self, new: User) {
        if let Some(id) = self.acl.id_of(&new.name) {
            let old = self.acl.user(id);
            if !new.keeps_channels_of(old) {
                let doomed: Vec<usize> = self
                    .clients
                    .iter()
                    .filter(|(_, c)| c.user == id && c.subs.is_some())
                    .filter(|(_, c)| {
                        c.subs.as_ref().is_some_and(|s| {
                            s.patterns.iter().any(|p| !new.subscription_allowed(p, true))
                                || s.channels.iter().any(|ch| !new.subscription_allowed(ch, false))
                                || s.shard.iter().any(|ch| !new.subscription_allowed(ch, false))
                        })
                    })
                    .map(|(k, _)| k)
                    .collect();
                for cid in doomed {
                    self.free_client_now(cid);
                }
            }
        }
        self.acl.put(new);
    }

    /// Drops users' connections: each goes back to the default user, logged out, and
    /// is closed (the caller after its reply). Redis compat: acl.c
    /// ACLFreeUserAndKillClients.
    pub fn acl_drop_clients_of(&mut self, users: &[usize], caller: usize) {
        let victims: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| users.contains(&c.user))
            .map(|(k, _)| k)
            .collect();
        for cid in victims {
            self.set_client_user(cid, DEFAULT_USER, false);
            if cid == caller {
                if let Some(c) = self.clients.get_mut(cid) {
                    c.close_after_reply = true;
                }
            } else {
                self.close_client_async(cid);
            }
        }
    }

    /// Closes a client at once as far as others can tell: it leaves its channels
    /// and CLIENT LIST, and its socket goes before the next poll.
    pub fn free_client_now(&mut self, cid: usize) {
        self.unsubscribe_all(cid);
        if let Some(c) = self.clients.get_mut(cid) {
            c.freed = true;
        }
        self.close_client_async(cid);
    }

    /// Users from `user` config lines and the ACL file, at startup. Err: why the
    /// server must not start. Redis compat: acl.c ACLLoadUsersAtStartup.
    pub fn load_users_at_startup(&mut self) -> Result<(), String> {
        let aclfile = self.cfg.get("aclfile").unwrap_or("").to_string();
        let lines = self.cfg.users.clone();
        if !aclfile.is_empty() && !lines.is_empty() {
            return Err("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into());
        }
        let pubsub_all = self.acl_pubsub_all();
        for line in &lines {
            let Some((name, ops)) = line.split_first() else {
                continue;
            };
            if name.bytes().any(|c| c.is_ascii_whitespace() || c == 0) {
                return Err("Spaces not allowed in ACL usernames".into());
            }
            let mut u = match self.acl.get(name.as_bytes()) {
                Some(_) if name == "default" => {
                    let mut d = self.acl.default_user().clone();
                    let _ = d.apply(b"reset", pubsub_all);
                    d
                }
                _ => User::new(name.as_bytes(), pubsub_all),
            };
            let ops: Vec<&[u8]> = ops.iter().map(|s| s.as_bytes()).collect();
            let merged =
                acl::merge_selector_args(&ops).map_err(|_| "Unmatched parenthesis in acl selector".to_string())?;
            for op in &merged {
                u.apply(op, pubsub_all).map_err(|e| {
                    format!(
                        "Error loading ACL rule '{}' for the user named '{name}': {}",
                        String::from_utf8_lossy(op),
                        e.text()
                    )
                })?;
            }
            if !u.enabled {
                tracing::info!("The user '{name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.");
            }
            self.acl.put(u);
        }
        if !aclfile.is_empty() {
            self.acl_load_file()
                .map_err(|e| format!("Aborting Redis startup because of ACL errors: {e}"))?;
        }
        Ok(())
    }

    /// Whether new users and selectors start with every channel (acl-pubsub-default).
    pub fn acl_pubsub_all(&self) -> bool {
        self.cfg.get("acl-pubsub-default") == Some("allchannels")
    }

    pub fn acl_file_path(&self) -> Option<std::path::PathBuf> {
        let f = self.cfg.get("aclfile").filter(|f| !f.is_empty())?;
        Some(std::path::PathBuf::from(f))
    }

    /// Replaces every user with the ACL file's, or changes nothing on any error.
    /// Returns the ids of the users replaced (their connections must go).
    pub fn acl_load_file(&mut self) -> Result<Vec<usize>, String> {
        let name = self.cfg.get("aclfile").unwrap_or("").to_string();
        let path = self.acl_file_path().ok_or("no ACL file")?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("Error loading ACLs, opening file '{name}': {}", crate::util::os_err(&e)))?;
        let users = acl::parse_acl_file(&text, &name, self.acl_pubsub_all())?;
        Ok(self.acl.replace_all(users))
    }

    /// Writes every user to the ACL file (a temp file renamed over it).
    pub fn acl_save_file(&self) -> std::io::Result<()> {
        let path = self
            .acl_file_path()
            .ok_or_else(|| std::io::Error::other("no ACL file"))?;
        let mut body = Vec::new();
        for u in self.acl.iter() {
            body.extend_from_slice(&u.line());
            body.push(b'\n');
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(format!(".tmp-{}-{}", std::process::id(), crate::clock::now_ms()));
        std::fs::write(&tmp, &body)?;
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// `user` lines describing every user, for CONFIG REWRITE (none with an ACL file).
    pub fn acl_config_lines(&self) -> Vec<String> {
        if self.acl_file_path().is_some() {
            return Vec::new();
        }
        self.acl
            .iter()
            .map(|u| String::from_utf8_lossy(&u.line()).into_owned())
            .collect()
    }
}
