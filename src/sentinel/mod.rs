//! Sentinel mode (`ferrodis --sentinel`, or the binary run as `redis-sentinel`):
//! monitors masters and their replicas, finds the other Sentinels through the hello
//! channel, agrees with them that a master is down, elects a leader and fails over,
//! speaking Redis Sentinel 7.0's protocol so both kinds of Sentinel work together.
//! State lives here; `monitor` has the timer and the replies, `command` the
//! SENTINEL command and Sentinel's INFO, ROLE and PUBLISH.
pub mod command;
pub mod link;
pub mod monitor;

use std::net::{IpAddr, ToSocketAddrs};

use crate::config::LogLevel;

pub const DEFAULT_PORT: u16 = 26379;
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";
const DEFAULT_SLAVE_PRIORITY: i64 = 100;
const DEFAULT_PARALLEL_SYNCS: i64 = 1;

// Instance flags. Redis compat: sentinel.c SRI_*.
pub const MASTER: u32 = 1 << 0;
pub const SLAVE: u32 = 1 << 1;
pub const SENTINEL: u32 = 1 << 2;
pub const S_DOWN: u32 = 1 << 3;
pub const O_DOWN: u32 = 1 << 4;
pub const MASTER_DOWN: u32 = 1 << 5;
pub const FAILOVER_IN_PROGRESS: u32 = 1 << 6;
pub const PROMOTED: u32 = 1 << 7;
pub const RECONF_SENT: u32 = 1 << 8;
pub const RECONF_INPROG: u32 = 1 << 9;
pub const RECONF_DONE: u32 = 1 << 10;
pub const FORCE_FAILOVER: u32 = 1 << 11;
pub const SCRIPT_KILL_SENT: u32 = 1 << 12;
pub const MASTER_REBOOT: u32 = 1 << 13;

// Failover states. Redis compat: sentinel.c SENTINEL_FAILOVER_STATE_*.
pub const FO_NONE: u8 = 0;
pub const FO_WAIT_START: u8 = 1;
pub const FO_SELECT_SLAVE: u8 = 2;
pub const FO_SEND_SLAVEOF_NOONE: u8 = 3;
pub const FO_WAIT_PROMOTION: u8 = 4;
pub const FO_RECONF_SLAVES: u8 = 5;
pub const FO_UPDATE_CONFIG: u8 = 6;

pub const SIM_CRASH_AFTER_ELECTION: u32 = 1;
pub const SIM_CRASH_AFTER_PROMOTION: u32 = 2;

/// The periods and timeouts SENTINEL DEBUG shows and changes (milliseconds).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub info_period: i64,
    pub ping_period: i64,
    pub ask_period: i64,
    pub publish_period: i64,
    pub default_down_after: i64,
    pub default_failover_timeout: i64,
    pub tilt_trigger: i64,
    pub tilt_period: i64,
    pub slave_reconf_timeout: i64,
    pub min_link_reconnect_period: i64,
    pub election_timeout: i64,
    pub script_max_runtime: i64,
    pub script_retry_delay: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            info_period: 10_000,
            ping_period: 1000,
            ask_period: 1000,
            publish_period: 2000,
            default_down_after: 30_000,
            default_failover_timeout: 180_000,
            tilt_trigger: 2000,
            tilt_period: 30_000,
            slave_reconf_timeout: 10_000,
            min_link_reconnect_period: 15_000,
            election_timeout: 10_000,
            script_max_runtime: 60_000,
            script_retry_delay: 30_000,
        }
    }
}

impl Timing {
    /// Names as SENTINEL DEBUG shows them, in its order.
    pub const NAMES: [&'static str; 13] = [
        "info-period",
        "ping-period",
        "ask-period",
        "publish-period",
        "default-down-after",
        "default-failover-timeout",
        "tilt-trigger",
        "tilt-period",
        "slave-reconf-timeout",
        "min-link-reconnect-period",
        "election-timeout",
        "script-max-runtime",
        "script-retry-delay",
    ];

    pub fn field(&mut self, name: &str) -> Option<&mut i64> {
        Some(match name {
            "info-period" => &mut self.info_period,
            "ping-period" => &mut self.ping_period,
            "ask-period" => &mut self.ask_period,
            "publish-period" => &mut self.publish_period,
            "default-down-after" => &mut self.default_down_after,
            "default-failover-timeout" => &mut self.default_failover_timeout,
            "tilt-trigger" => &mut self.tilt_trigger,
            "tilt-period" => &mut self.tilt_period,
            "slave-reconf-timeout" => &mut self.slave_reconf_timeout,
            "min-link-reconnect-period" => &mut self.min_link_reconnect_period,
            "election-timeout" => &mut self.election_timeout,
            "script-max-runtime" => &mut self.script_max_runtime,
            "script-retry-delay" => &mut self.script_retry_delay,
            _ => return None,
        })
    }
}

/// An instance's address: the name it was given and the IP it resolved to.
#[derive(Clone, Debug, Default)]
pub struct Addr {
    pub host: String,
    pub ip: String,
    pub port: u16,
}

impl Addr {
    /// Two addresses are the same instance when IP or hostname and port match.
    /// Redis compat: sentinel.c sentinelAddrOrHostnameEqual.
    pub fn same(&self, o: &Addr) -> bool {
        self.port == o.port && (self.ip == o.ip || self.host.eq_ignore_ascii_case(&o.host))
    }
}

/// The state of an instance's connections. Redis compat: sentinel.c instanceLink.
#[derive(Clone, Debug)]
pub struct LinkState {
    pub cc: Option<usize>,
    pub pc: Option<usize>,
    pub disconnected: bool,
    pub pending: i64,
    pub cc_conn_time: i64,
    pub pc_conn_time: i64,
    pub pc_last_activity: i64,
    pub last_reconn_time: i64,
    pub act_ping_time: i64,
    pub last_ping_time: i64,
    pub last_avail_time: i64,
    pub last_pong_time: i64,
}

impl LinkState {
    fn new(now: i64) -> Self {
        LinkState {
            cc: None,
            pc: None,
            disconnected: true,
            pending: 0,
            cc_conn_time: 0,
            pc_conn_time: 0,
            pc_last_activity: 0,
            last_reconn_time: 0,
            act_ping_time: now,
            last_ping_time: 0,
            last_avail_time: now,
            last_pong_time: now,
        }
    }
}

/// A monitored master, replica or peer Sentinel. Redis compat: sentinelRedisInstance.
#[derive(Clone, Debug)]
pub struct Inst {
    pub id: u64,
    pub flags: u32,
    pub name: String,
    pub addr: Addr,
    pub runid: Option<String>,
    pub link: LinkState,
    pub last_pub_time: i64,
    pub last_hello_time: i64,
    pub last_master_down_reply_time: i64,
    pub s_down_since: i64,
    pub o_down_since: i64,
    pub down_after: i64,
    pub info_refresh: i64,
    pub info: Option<String>,
    pub role_reported: u32,
    pub role_reported_time: i64,
    pub slave_conf_change_time: i64,
    pub master_reboot_since: i64,
    // Replicas.
    pub master_link_down_time: i64,
    pub slave_priority: i64,
    pub replica_announced: i64,
    pub slave_reconf_sent_time: i64,
    pub slave_master_host: Option<String>,
    pub slave_master_port: i64,
    pub slave_master_link_up: bool,
    pub slave_repl_offset: u64,
    // The vote: ours for a master, a peer's for a Sentinel.
    pub leader: Option<String>,
    pub leader_epoch: u64,
}

impl Inst {
    fn new(id: u64, flags: u32, name: String, addr: Addr, down_after: i64, now: i64) -> Self {
        Inst {
            id,
            flags,
            name,
            addr,
            runid: None,
            link: LinkState::new(now),
            last_pub_time: now,
            last_hello_time: now,
            last_master_down_reply_time: now,
            s_down_since: 0,
            o_down_since: 0,
            down_after,
            info_refresh: 0,
            info: None,
            role_reported: flags & (MASTER | SLAVE),
            role_reported_time: now,
            slave_conf_change_time: now,
            master_reboot_since: 0,
            master_link_down_time: 0,
            slave_priority: DEFAULT_SLAVE_PRIORITY,
            replica_announced: 1,
            slave_reconf_sent_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_repl_offset: 0,
            leader: None,
            leader_epoch: 0,
        }
    }

    pub fn type_str(&self) -> &'static str {
        if self.flags & MASTER != 0 {
            "master"
        } else if self.flags & SLAVE != 0 {
            "slave"
        } else {
            "sentinel"
        }
    }
}

/// A monitored master with what was learnt about it.
#[derive(Clone, Debug)]
pub struct Master {
    pub ri: Inst,
    pub slaves: Vec<Inst>,
    pub sentinels: Vec<Inst>,
    pub quorum: i64,
    pub parallel_syncs: i64,
    pub config_epoch: u64,
    pub failover_epoch: u64,
    pub failover_state: u8,
    pub failover_state_change_time: i64,
    pub failover_start_time: i64,
    pub failover_timeout: i64,
    pub failover_delay_logged: i64,
    /// Id of the replica being promoted.
    pub promoted: Option<u64>,
    pub master_reboot_down_after: i64,
    pub auth_pass: Option<String>,
    pub auth_user: Option<String>,
    pub notification_script: Option<String>,
    pub client_reconfig_script: Option<String>,
    /// rename-command pairs (original, lowercased; new name).
    pub renamed: Vec<(String, String)>,
}

/// Where an instance sits: a master, or the i-th replica or Sentinel of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Master(usize),
    Slave(usize, usize),
    Sentinel(usize, usize),
}

impl At {
    pub fn master(self) -> usize {
        match self {
            At::Master(m) | At::Slave(m, _) | At::Sentinel(m, _) => m,
        }
    }
}

/// An event for the log, the Pub/Sub channel of its type and the notification script.
pub struct Event {
    pub level: LogLevel,
    pub ty: String,
    pub msg: String,
}

/// A notification or client reconfiguration script waiting or running.
pub struct Script {
    pub argv: Vec<String>,
    pub retry: u32,
    pub start_time: i64,
    pub pid: Option<u32>,
    pub child: Option<std::process::Child>,
}

/// Sentinel's whole state.
pub struct Sentinel {
    pub myid: String,
    pub current_epoch: u64,
    pub masters: Vec<Master>,
    pub tilt: bool,
    pub tilt_start: i64,
    pub previous_time: i64,
    pub announce_ip: Option<String>,
    pub announce_port: u16,
    pub deny_scripts_reconfig: bool,
    pub resolve_hostnames: bool,
    pub announce_hostnames: bool,
    pub user: Option<String>,
    pub pass: Option<String>,
    pub simfailure: u32,
    pub t: Timing,
    pub sockets: link::Sockets,
    pub scripts: Vec<Script>,
    pub events: Vec<Event>,
    /// The state changed in a way the config file keeps.
    pub flush: bool,
    next_id: u64,
}

/// Why an instance could not be created. Redis compat: sentinelCheckCreateInstanceErrors.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateError {
    Busy,
    NoResolve,
    BadPort,
}

impl CreateError {
    pub fn text(&self, flags: u32) -> &'static str {
        match self {
            CreateError::Busy if flags & MASTER != 0 => "Duplicate master name.",
            CreateError::Busy if flags & SLAVE != 0 => "Duplicate hostname and port for replica.",
            CreateError::Busy => "Duplicate runid for sentinel.",
            CreateError::NoResolve => "Can't resolve instance hostname.",
            CreateError::BadPort => "Invalid port number.",
        }
    }
}

pub fn now_ms() -> i64 {
    crate::clock::now_ms()
}

impl Default for Sentinel {
    fn default() -> Self {
        Self::new()
    }
}

impl Sentinel {
    pub fn new() -> Self {
        Sentinel {
            myid: String::new(),
            current_epoch: 0,
            masters: Vec::new(),
            tilt: false,
            tilt_start: 0,
            previous_time: now_ms(),
            announce_ip: None,
            announce_port: 0,
            deny_scripts_reconfig: true,
            resolve_hostnames: false,
            announce_hostnames: false,
            user: None,
            pass: None,
            simfailure: 0,
            t: Timing::default(),
            sockets: link::Sockets::default(),
            scripts: Vec::new(),
            events: Vec::new(),
            flush: false,
            next_id: 1,
        }
    }

    /// Resolves an instance address: an IP as is, a hostname only with
    /// `resolve-hostnames yes`. Redis compat: sentinel.c createSentinelAddr.
    pub fn make_addr(&self, host: &str, port: i64, accept_unresolved: bool) -> Result<Addr, CreateError> {
        if !(0..=65535).contains(&port) {
            return Err(CreateError::BadPort);
        }
        let ip = match resolve(host, self.resolve_hostnames) {
            Some(ip) => ip,
            None => {
                tracing::warn!("Failed to resolve hostname '{host}'");
                if self.resolve_hostnames && accept_unresolved {
                    String::new()
                } else {
                    return Err(CreateError::NoResolve);
                }
            }
        };
        Ok(Addr {
            host: host.to_string(),
            ip,
            port: port as u16,
        })
    }

    /// The address others are told: the hostname with `announce-hostnames yes`.
    pub fn announce<'a>(&self, a: &'a Addr) -> &'a str {
        if self.announce_hostnames {
            &a.host
        } else {
            &a.ip
        }
    }

    pub fn announce_with_port(&self, a: &Addr) -> String {
        let h = self.announce(a);
        if h.contains(':') {
            format!("[{h}]:{}", a.port)
        } else {
            format!("{h}:{}", a.port)
        }
    }

    /// Whether `host` names the address `a`. Redis compat: sentinelAddrEqualsHostname.
    pub fn addr_is_host(&self, a: &Addr, host: &str) -> bool {
        match resolve(host, self.resolve_hostnames) {
            Some(ip) => a.ip.eq_ignore_ascii_case(&ip),
            None => {
                let mine = if self.resolve_hostnames { &a.host } else { &a.ip };
                mine.eq_ignore_ascii_case(host)
            }
        }
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn master_index(&self, name: &str) -> Option<usize> {
        self.masters.iter().position(|m| m.ri.name == name)
    }

    /// Starts monitoring a master. Redis compat: createSentinelRedisInstance(SRI_MASTER).
    pub fn add_master(&mut self, name: &str, host: &str, port: i64, quorum: i64) -> Result<usize, CreateError> {
        let addr = self.make_addr(host, port, true)?;
        if self.master_index(name).is_some() {
            return Err(CreateError::Busy);
        }
        let id = self.new_id();
        let now = now_ms();
        let ri = Inst::new(id, MASTER, name.to_string(), addr, self.t.default_down_after, now);
        self.masters.push(Master {
            ri,
            slaves: Vec::new(),
            sentinels: Vec::new(),
            quorum,
            parallel_syncs: DEFAULT_PARALLEL_SYNCS,
            config_epoch: 0,
            failover_epoch: 0,
            failover_state: FO_NONE,
            failover_state_change_time: 0,
            failover_start_time: 0,
            failover_timeout: self.t.default_failover_timeout,
            failover_delay_logged: 0,
            promoted: None,
            master_reboot_down_after: 0,
            auth_pass: None,
            auth_user: None,
            notification_script: None,
            client_reconfig_script: None,
            renamed: Vec::new(),
        });
        Ok(self.masters.len() - 1)
    }

    /// Adds a replica of master `m`, named by its address.
    pub fn add_slave(&mut self, m: usize, host: &str, port: i64) -> Result<usize, CreateError> {
        let addr = self.make_addr(host, port, true)?;
        let name = self.announce_with_port(&addr);
        let Some(ms) = self.masters.get(m) else {
            return Err(CreateError::Busy);
        };
        if ms.slaves.iter().any(|s| s.name == name) {
            return Err(CreateError::Busy);
        }
        let down_after = ms.ri.down_after;
        let id = self.new_id();
        let ri = Inst::new(id, SLAVE, name, addr, down_after, now_ms());
        let ms = &mut self.masters[m];
        ms.slaves.push(ri);
        Ok(ms.slaves.len() - 1)
    }

    /// Adds a peer Sentinel of master `m`, named by its run id.
    pub fn add_sentinel(&mut self, m: usize, runid: &str, host: &str, port: i64) -> Result<usize, CreateError> {
        let addr = self.make_addr(host, port, true)?;
        let Some(ms) = self.masters.get(m) else {
            return Err(CreateError::Busy);
        };
        if ms.sentinels.iter().any(|s| s.name == runid) {
            return Err(CreateError::Busy);
        }
        let down_after = ms.ri.down_after;
        let id = self.new_id();
        let mut ri = Inst::new(id, SENTINEL, runid.to_string(), addr, down_after, now_ms());
        ri.runid = Some(runid.to_string());
        let ms = &mut self.masters[m];
        ms.sentinels.push(ri);
        Ok(ms.sentinels.len() - 1)
    }

    pub fn ri(&self, at: At) -> Option<&Inst> {
        match at {
            At::Master(m) => self.masters.get(m).map(|x| &x.ri),
            At::Slave(m, i) => self.masters.get(m)?.slaves.get(i),
            At::Sentinel(m, i) => self.masters.get(m)?.sentinels.get(i),
        }
    }

    pub fn ri_mut(&mut self, at: At) -> Option<&mut Inst> {
        match at {
            At::Master(m) => self.masters.get_mut(m).map(|x| &mut x.ri),
            At::Slave(m, i) => self.masters.get_mut(m)?.slaves.get_mut(i),
            At::Sentinel(m, i) => self.masters.get_mut(m)?.sentinels.get_mut(i),
        }
    }

    /// Where the instance with this id is.
    pub fn find(&self, id: u64) -> Option<At> {
        for (m, ms) in self.masters.iter().enumerate() {
            if ms.ri.id == id {
                return Some(At::Master(m));
            }
            if let Some(i) = ms.slaves.iter().position(|s| s.id == id) {
                return Some(At::Slave(m, i));
            }
            if let Some(i) = ms.sentinels.iter().position(|s| s.id == id) {
                return Some(At::Sentinel(m, i));
            }
        }
        None
    }

    /// The instance prefix of an event: `<type> <name> <ip> <port>`, and for replicas
    /// and Sentinels ` @ <master name> <ip> <port>`. Redis compat: sentinelEvent "%@".
    pub fn describe(&self, at: At) -> String {
        let Some(ri) = self.ri(at) else { return String::new() };
        let mut s = format!(
            "{} {} {} {}",
            ri.type_str(),
            ri.name,
            self.announce(&ri.addr),
            ri.addr.port
        );
        if !matches!(at, At::Master(_)) {
            if let Some(m) = self.masters.get(at.master()) {
                s.push_str(&format!(
                    " @ {} {} {}",
                    m.ri.name,
                    self.announce(&m.ri.addr),
                    m.ri.addr.port
                ));
            }
        }
        s
    }

    /// Logs an event and queues it for Pub/Sub and the master's notification script.
    /// Redis compat: sentinel.c sentinelEvent.
    pub fn event(&mut self, level: LogLevel, ty: &str, at: Option<At>, rest: &str) {
        let mut msg = at.map(|a| self.describe(a)).unwrap_or_default();
        if !rest.is_empty() {
            if !msg.is_empty() {
                msg.push(' ');
            }
            msg.push_str(rest);
        }
        self.event_raw(level, ty, at, msg);
    }

    /// An event whose text is given whole (no instance prefix).
    pub fn event_raw(&mut self, level: LogLevel, ty: &str, at: Option<At>, msg: String) {
        let line = format!("{ty} {msg}");
        match level {
            LogLevel::Warning => tracing::warn!("{line}"),
            LogLevel::Notice => tracing::info!("{line}"),
            LogLevel::Verbose => tracing::debug!("{line}"),
            _ => tracing::trace!("{line}"),
        }
        if level == LogLevel::Debug {
            return;
        }
        if level == LogLevel::Warning {
            if let Some(path) = at
                .and_then(|a| self.masters.get(a.master()))
                .and_then(|m| m.notification_script.clone())
            {
                self.schedule_script(vec![path, ty.to_string(), msg.clone()]);
            }
        }
        self.events.push(Event {
            level,
            ty: ty.to_string(),
            msg,
        });
    }

    /// The address clients should use for master `m`: the promoted replica's once it
    /// has taken the role. Redis compat: sentinelGetCurrentMasterAddress.
    pub fn current_master_addr(&self, m: usize) -> Option<&Addr> {
        let ms = self.masters.get(m)?;
        if ms.ri.flags & FAILOVER_IN_PROGRESS != 0 && ms.failover_state >= FO_RECONF_SLAVES {
            if let Some(p) = ms.promoted.and_then(|id| ms.slaves.iter().find(|s| s.id == id)) {
                return Some(&p.addr);
            }
        }
        Some(&ms.ri.addr)
    }

    /// A command name as master `m` knows it (rename-command).
    pub fn map_cmd<'a>(&'a self, m: usize, name: &'a str) -> &'a str {
        self.masters
            .get(m)
            .and_then(|ms| ms.renamed.iter().find(|(o, _)| o.eq_ignore_ascii_case(name)))
            .map(|(_, n)| n.as_str())
            .unwrap_or(name)
    }

    /// Applies one `sentinel ...` config line (the words after `sentinel`).
    /// Redis compat: sentinel.c sentinelHandleConfiguration.
    pub fn config_line(&mut self, argv: &[String]) -> Result<(), String> {
        let a: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
        let name = a.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
        let atoi = |s: &str| crate::util::num::atoi_prefix(s.as_bytes());
        let master = |s: &Sentinel, n: &str| s.master_index(n).ok_or("No such master with specified name.");
        match (name.as_str(), a.len()) {
            ("monitor", 5) => {
                let quorum = atoi(a[4]);
                if quorum <= 0 {
                    return Err("Quorum must be 1 or greater.".into());
                }
                self.add_master(a[1], a[2], atoi(a[3]), quorum)
                    .map_err(|e| e.text(MASTER).to_string())?;
            }
            ("down-after-milliseconds", 3) => {
                let m = master(self, a[1])?;
                let v = atoi(a[2]) as i32 as i64;
                if v <= 0 {
                    return Err("negative or zero time parameter.".into());
                }
                self.set_down_after(m, v);
            }
            ("failover-timeout", 3) => {
                let m = master(self, a[1])?;
                let v = atoi(a[2]) as i32 as i64;
                if v <= 0 {
                    return Err("negative or zero time parameter.".into());
                }
                self.masters[m].failover_timeout = v;
            }
            ("parallel-syncs", 3) => {
                let m = master(self, a[1])?;
                self.masters[m].parallel_syncs = atoi(a[2]) as i32 as i64;
            }
            ("notification-script", 3) | ("client-reconfig-script", 3) => {
                let m = master(self, a[1])?;
                if !executable(a[2]) {
                    return Err(if name == "notification-script" {
                        "Notification script seems non existing or non executable.".into()
                    } else {
                        "Client reconfiguration script seems non existing or non executable.".into()
                    });
                }
                if name == "notification-script" {
                    self.masters[m].notification_script = Some(a[2].to_string());
                } else {
                    self.masters[m].client_reconfig_script = Some(a[2].to_string());
                }
            }
            ("auth-pass", 3) => {
                let m = master(self, a[1])?;
                self.masters[m].auth_pass = Some(a[2].to_string());
            }
            ("auth-user", 3) => {
                let m = master(self, a[1])?;
                self.masters[m].auth_user = Some(a[2].to_string());
            }
            ("current-epoch", 2) => {
                let e = a[1].parse::<u64>().unwrap_or(0);
                self.current_epoch = self.current_epoch.max(e);
            }
            ("myid", 2) => {
                if a[1].len() != 40 {
                    return Err("Malformed Sentinel id in myid option.".into());
                }
                self.myid = a[1].to_string();
            }
            ("config-epoch", 3) => {
                let m = master(self, a[1])?;
                let e = a[2].parse::<u64>().unwrap_or(0);
                self.masters[m].config_epoch = e;
                self.current_epoch = self.current_epoch.max(e);
            }
            ("leader-epoch", 3) => {
                let m = master(self, a[1])?;
                self.masters[m].ri.leader_epoch = a[2].parse::<u64>().unwrap_or(0);
            }
            ("known-slave", 4) | ("known-replica", 4) => {
                let m = master(self, a[1])?;
                self.add_slave(m, a[2], atoi(a[3]))
                    .map_err(|e| e.text(SLAVE).to_string())?;
            }
            ("known-sentinel", 4) => {}
            ("known-sentinel", 5) => {
                let m = master(self, a[1])?;
                self.add_sentinel(m, a[4], a[2], atoi(a[3]))
                    .map_err(|e| e.text(SENTINEL).to_string())?;
            }
            ("rename-command", 4) => {
                let m = master(self, a[1])?;
                let ms = &mut self.masters[m];
                if ms.renamed.iter().any(|(o, _)| o.eq_ignore_ascii_case(a[2])) {
                    return Err("Same command renamed multiple times with rename-command.".into());
                }
                ms.renamed.push((a[2].to_string(), a[3].to_string()));
            }
            ("announce-ip", 2) => {
                if !a[1].is_empty() {
                    self.announce_ip = Some(a[1].to_string());
                }
            }
            ("announce-port", 2) => self.announce_port = atoi(a[1]) as u16,
            ("deny-scripts-reconfig", 2) => {
                self.deny_scripts_reconfig =
                    yes_no(a[1]).ok_or("Please specify yes or no for the deny-scripts-reconfig options.")?;
            }
            ("sentinel-user", 2) => {
                if !a[1].is_empty() {
                    self.user = Some(a[1].to_string());
                }
            }
            ("sentinel-pass", 2) => {
                if !a[1].is_empty() {
                    self.pass = Some(a[1].to_string());
                }
            }
            ("resolve-hostnames", 2) => {
                self.resolve_hostnames =
                    yes_no(a[1]).ok_or("Please specify yes or no for the resolve-hostnames option.")?;
            }
            ("announce-hostnames", 2) => {
                self.announce_hostnames =
                    yes_no(a[1]).ok_or("Please specify yes or no for the announce-hostnames option.")?;
            }
            ("master-reboot-down-after-period", 3) => {
                let m = master(self, a[1])?;
                let v = atoi(a[2]) as i32 as i64;
                if v < 0 {
                    return Err("negative time parameter.".into());
                }
                self.masters[m].master_reboot_down_after = v;
            }
            _ => return Err("Unrecognized sentinel configuration statement.".into()),
        }
        Ok(())
    }

    /// Applies config lines in Redis's order: global settings, then `monitor`, then
    /// the rest (which name masters). The first error and its line come back.
    pub fn load_config(&mut self, lines: &[(usize, String, Vec<String>)]) -> Result<(), (usize, String, String)> {
        const PRE: [&str; 9] = [
            "announce-ip",
            "announce-port",
            "deny-scripts-reconfig",
            "sentinel-user",
            "sentinel-pass",
            "current-epoch",
            "myid",
            "resolve-hostnames",
            "announce-hostnames",
        ];
        let rank = |argv: &[String]| {
            let n = argv.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
            if PRE.contains(&n.as_str()) {
                0
            } else if n == "monitor" {
                1
            } else {
                2
            }
        };
        for pass in 0..3 {
            for (no, text, argv) in lines.iter().filter(|l| rank(&l.2) == pass) {
                self.config_line(argv).map_err(|e| (*no, text.clone(), e))?;
            }
        }
        Ok(())
    }

    pub fn set_down_after(&mut self, m: usize, v: i64) {
        let ms = &mut self.masters[m];
        ms.ri.down_after = v;
        for s in ms.slaves.iter_mut().chain(ms.sentinels.iter_mut()) {
            s.down_after = v;
        }
    }

    /// The `sentinel ...` lines of the config file, each with the key that places it
    /// (its first two words) and whether it is written when no line held it before.
    /// Redis compat: sentinel.c rewriteConfigSentinelOption.
    pub fn config_lines(&self) -> Vec<(String, String, bool)> {
        let mut out = Vec::new();
        let mut add = |key: &str, line: String, force: bool| out.push((format!("sentinel {key}"), line, force));
        add("myid", format!("sentinel myid {}", self.myid), true);
        let yn = |b: bool| if b { "yes" } else { "no" };
        add(
            "deny-scripts-reconfig",
            format!("sentinel deny-scripts-reconfig {}", yn(self.deny_scripts_reconfig)),
            !self.deny_scripts_reconfig,
        );
        add(
            "resolve-hostnames",
            format!("sentinel resolve-hostnames {}", yn(self.resolve_hostnames)),
            self.resolve_hostnames,
        );
        add(
            "announce-hostnames",
            format!("sentinel announce-hostnames {}", yn(self.announce_hostnames)),
            self.announce_hostnames,
        );
        for (m, ms) in self.masters.iter().enumerate() {
            let name = &ms.ri.name;
            let cur = self.current_master_addr(m).cloned().unwrap_or_default();
            add(
                "monitor",
                format!(
                    "sentinel monitor {name} {} {} {}",
                    self.announce(&cur),
                    cur.port,
                    ms.quorum
                ),
                true,
            );
            if ms.ri.down_after != self.t.default_down_after {
                add(
                    "down-after-milliseconds",
                    format!("sentinel down-after-milliseconds {name} {}", ms.ri.down_after),
                    true,
                );
            }
            if ms.failover_timeout != self.t.default_failover_timeout {
                add(
                    "failover-timeout",
                    format!("sentinel failover-timeout {name} {}", ms.failover_timeout),
                    true,
                );
            }
            if ms.parallel_syncs != DEFAULT_PARALLEL_SYNCS {
                add(
                    "parallel-syncs",
                    format!("sentinel parallel-syncs {name} {}", ms.parallel_syncs),
                    true,
                );
            }
            if let Some(s) = &ms.notification_script {
                add(
                    "notification-script",
                    format!("sentinel notification-script {name} {s}"),
                    true,
                );
            }
            if let Some(s) = &ms.client_reconfig_script {
                add(
                    "client-reconfig-script",
                    format!("sentinel client-reconfig-script {name} {s}"),
                    true,
                );
            }
            if let Some(s) = &ms.auth_pass {
                add("auth-pass", format!("sentinel auth-pass {name} {s}"), true);
            }
            if let Some(s) = &ms.auth_user {
                add("auth-user", format!("sentinel auth-user {name} {s}"), true);
            }
            if ms.master_reboot_down_after != 0 {
                add(
                    "master-reboot-down-after-period",
                    format!(
                        "sentinel master-reboot-down-after-period {name} {}",
                        ms.master_reboot_down_after
                    ),
                    true,
                );
            }
            add(
                "config-epoch",
                format!("sentinel config-epoch {name} {}", ms.config_epoch),
                true,
            );
            add(
                "leader-epoch",
                format!("sentinel leader-epoch {name} {}", ms.ri.leader_epoch),
                true,
            );
            for s in &ms.slaves {
                // The promoted replica stands for the old master's address until the
                // failover ends.
                let a = if s.addr.same(&cur) { &ms.ri.addr } else { &s.addr };
                add(
                    "known-replica",
                    format!("sentinel known-replica {name} {} {}", self.announce(a), a.port),
                    true,
                );
            }
            for s in &ms.sentinels {
                let Some(runid) = &s.runid else { continue };
                add(
                    "known-sentinel",
                    format!(
                        "sentinel known-sentinel {name} {} {} {runid}",
                        self.announce(&s.addr),
                        s.addr.port
                    ),
                    true,
                );
            }
            for (o, n) in &ms.renamed {
                add(
                    "rename-command",
                    format!("sentinel rename-command {name} {o} {n}"),
                    true,
                );
            }
        }
        add(
            "current-epoch",
            format!("sentinel current-epoch {}", self.current_epoch),
            true,
        );
        if let Some(ip) = &self.announce_ip {
            add(
                "announce-ip",
                format!("sentinel announce-ip {}", crate::util::repr::repr(ip.as_bytes())),
                true,
            );
        }
        if self.announce_port != 0 {
            add(
                "announce-port",
                format!("sentinel announce-port {}", self.announce_port),
                true,
            );
        }
        if let Some(u) = &self.user {
            add("sentinel-user", format!("sentinel sentinel-user {u}"), true);
        }
        if let Some(p) = &self.pass {
            add("sentinel-pass", format!("sentinel sentinel-pass {p}"), true);
        }
        out
    }

    /// Queues a script run (notification or client reconfiguration).
    pub fn schedule_script(&mut self, argv: Vec<String>) {
        const MAX_QUEUE: usize = 256;
        if self.scripts.len() >= MAX_QUEUE {
            // Redis compat: sentinelScheduleScriptExecution drops the oldest not running.
            if let Some(i) = self.scripts.iter().position(|s| s.pid.is_none()) {
                self.scripts.remove(i);
            } else {
                return;
            }
        }
        self.scripts.push(Script {
            argv,
            retry: 0,
            start_time: 0,
            pid: None,
            child: None,
        });
    }
}

fn yes_no(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

pub fn executable(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    // Safety: access() reads the NUL-terminated path only.
    unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
}

/// An IP as is; a hostname through the resolver when allowed.
pub fn resolve(host: &str, allow_dns: bool) -> Option<String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    if !allow_dns {
        return None;
    }
    (host, 0u16)
        .to_socket_addrs()
        .ok()?
        .map(|a| a.ip())
        .min_by_key(|ip| ip.is_ipv6())
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(usize, String, Vec<String>)> {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                (
                    i + 1,
                    l.to_string(),
                    l.split_whitespace().skip(1).map(String::from).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn config_loads_in_dependency_order_and_writes_back() {
        let mut s = Sentinel::new();
        let cfg = "sentinel down-after-milliseconds m 2000\nsentinel known-replica m 127.0.0.1 7001\nsentinel monitor m 127.0.0.1 7000 2\nsentinel myid 0123456789012345678901234567890123456789\nsentinel current-epoch 5";
        s.load_config(&lines(cfg)).unwrap();
        assert_eq!(s.masters[0].ri.down_after, 2000);
        assert_eq!(s.masters[0].slaves[0].down_after, 2000);
        assert_eq!(s.current_epoch, 5);
        let out: Vec<String> = s.config_lines().into_iter().filter(|l| l.2).map(|l| l.1).collect();
        assert!(out.contains(&"sentinel monitor m 127.0.0.1 7000 2".to_string()));
        assert!(out.contains(&"sentinel known-replica m 127.0.0.1 7001".to_string()));
        assert!(out.contains(&"sentinel down-after-milliseconds m 2000".to_string()));
        let err = s.load_config(&lines("sentinel parallel-syncs nope 1")).unwrap_err();
        assert_eq!(
            err,
            (
                1,
                "sentinel parallel-syncs nope 1".into(),
                "No such master with specified name.".into()
            )
        );
        assert_eq!(
            s.config_line(&["monitor".into(), "x".into(), "localhost".into(), "1".into(), "1".into()]),
            Err("Can't resolve instance hostname.".into())
        );
        assert_eq!(
            s.config_line(&["monitor".into(), "m".into(), "127.0.0.1".into(), "1".into(), "1".into()]),
            Err("Duplicate master name.".into())
        );
    }
}
