//! Geo commands: points are sorted-set members scored by their 52-bit interleaved
//! geohash (util::geohash), so GEO keys are plain sorted sets, interchangeable with
//! Redis's. Searches scan the score ranges of the nine cells around the center.
use super::error::{self, CmdError, CmdResult};
use super::spec::*;
use super::{Args, Ctx};
use crate::db::zset::{cmp_elem, zset_from_sorted, ZSetRef};
use crate::db::ValueRef;
use crate::ds::ztree::ScoreBound;
use crate::resp::ReplyBuf;
use crate::util::geohash::{self, Shape};
use crate::util::num;

const G: &str = "geo";
const UNIT_ERR: CmdError = CmdError::new("ERR unsupported unit provided. please use M, KM, FT, MI");

/// The sorted set at `key` for reading (a counted lookup): Ok(None) when absent.
fn read_zset<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<ZSetRef<'a>>, CmdError> {
    match ctx.read_key(key) {
        None => Ok(None),
        Some(o) => match o.value() {
            ValueRef::ZSet(z) => Ok(Some(z)),
            _ => Err(error::WRONGTYPE),
        },
    }
}

/// Parses a longitude/latitude pair at `i`, `i + 1`. Redis compat: geo.c
/// extractLongLatOrReply.
fn lonlat(a: &Args, i: usize) -> Result<(f64, f64), CmdError> {
    let (lon, lat) = (a.f64(i)?, a.f64(i + 1)?);
    if !geohash::valid_lonlat(lon, lat) {
        return Err(CmdError::owned(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

fn unit(a: &Args, i: usize) -> Result<f64, CmdError> {
    geohash::unit_factor(a.at(i)).ok_or(UNIT_ERR)
}

fn number(a: &Args, i: usize, msg: &'static str) -> Result<f64, CmdError> {
    num::parse_f64(a.at(i)).ok_or(CmdError::new(msg))
}

/// The position of a member, decoded from its score.
fn member_pos(z: &ZSetRef, m: &[u8]) -> Option<(f64, f64)> {
    z.score(m).map(geohash::decode_score)
}

fn reply_distance(out: &mut ReplyBuf, d: f64) {
    let mut b = Vec::with_capacity(24);
    geohash::fmt_distance(d, &mut b);
    out.bulk(&b);
}

fn reply_coord(out: &mut ReplyBuf, v: f64) {
    let mut b = Vec::with_capacity(24);
    num::fmt_f64_human(v, &mut b);
    out.human_double(&b);
}

fn geoadd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let mut idx = 2;
    let (mut nx, mut xx) = (false, false);
    while idx < a.len() {
        if a.is(idx, "nx") {
            nx = true;
        } else if a.is(idx, "xx") {
            xx = true;
        } else if !a.is(idx, "ch") {
            break;
        }
        idx += 1;
    }
    if (a.len() - idx) % 3 != 0 || (nx && xx) {
        return Err(error::SYNTAX);
    }
    // The work is ZADD's, with scores computed from the coordinates.
    let mut scores = Vec::with_capacity((a.len() - idx) / 3);
    for i in (idx..a.len()).step_by(3) {
        let (lon, lat) = lonlat(a, i)?;
        let bits = geohash::encode(lon, lat).unwrap_or(0);
        scores.push(bits.to_string().into_bytes());
    }
    let mut argv: Vec<&[u8]> = Vec::with_capacity(idx + scores.len() * 2);
    argv.push(b"zadd");
    argv.extend_from_slice(a.argv.get(1..idx).unwrap_or_default());
    for (n, i) in (idx..a.len()).step_by(3).enumerate() {
        argv.push(scores.get(n).map(|s| s.as_slice()).unwrap_or_default());
        argv.push(a.at(i + 2));
    }
    // Replicated as that ZADD. Redis compat: geo.c geoaddCommand (replaceClientCommandVector).
    ctx.propagate_as(&argv);
    super::zset::zadd(ctx, &Args { argv: &argv })
}

/// The scores of `members` in the set at `key` (None for missing ones).
fn scores(ctx: &mut Ctx, key: &[u8], members: &[&[u8]]) -> Result<Vec<Option<f64>>, CmdError> {
    let z = read_zset(ctx, key)?;
    Ok(members.iter().map(|m| z.as_ref().and_then(|z| z.score(m))).collect())
}

fn geohash_cmd(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let found = scores(ctx, a.at(1), a.rest(2))?;
    ctx.out.array(found.len());
    for s in found {
        match s {
            Some(s) => ctx.out.bulk(&geohash::geohash_string(geohash::score_to_bits(s))),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn geopos(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let found = scores(ctx, a.at(1), a.rest(2))?;
    ctx.out.array(found.len());
    for s in found {
        match s {
            Some(s) => {
                let (lon, lat) = geohash::decode_score(s);
                ctx.out.array(2);
                reply_coord(ctx.out, lon);
                reply_coord(ctx.out, lat);
            }
            None => ctx.out.null_array(),
        }
    }
    Ok(())
}

fn geodist(ctx: &mut Ctx, a: &Args) -> CmdResult {
    let to_m = match a.len() {
        4 => 1.0,
        5 => unit(a, 4)?,
        _ => return Err(error::SYNTAX),
    };
    let Some(z) = read_zset(ctx, a.at(1))? else {
        ctx.out.null();
        return Ok(());
    };
    let d = match (member_pos(&z, a.at(2)), member_pos(&z, a.at(3))) {
        (Some((x1, y1)), Some((x2, y2))) => Some(geohash::distance(x1, y1, x2, y2) / to_m),
        _ => None,
    };
    match d {
        Some(d) => reply_distance(ctx.out, d),
        None => ctx.out.null(),
    }
    Ok(())
}

/// Which search command is running: they differ in where the center comes from and in
/// the options they take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS key lon lat radius unit ... (`store`: STORE/STOREDIST allowed)
    Coords { store: bool },
    /// GEORADIUSBYMEMBER key member radius unit ...
    Member { store: bool },
    /// GEOSEARCH / GEOSEARCHSTORE (`store`)
    Search { store: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

struct Point {
    member: Vec<u8>,
    dist: f64,
    score: f64,
    lon: f64,
    lat: f64,
}

/// Members inside `shape`, scanning each cell's score range in order, stopping early
/// after `limit` matches (COUNT ... ANY). Redis compat: geo.c membersOfAllNeighbors.
fn collect(z: &ZSetRef, shape: &Shape, limit: usize) -> Vec<Point> {
    let mut pts = Vec::new();
    for (min, max) in geohash::search_ranges(shape) {
        if limit > 0 && pts.len() >= limit {
            break;
        }
        let start = z.first_in_score(&ScoreBound {
            value: min,
            exclusive: false,
        });
        for (m, s) in z.iter_from(start) {
            if s >= max {
                break;
            }
            if let Some(h) = geohash::match_score(shape, s) {
                pts.push(Point {
                    member: m.to_vec(),
                    dist: h.dist_m,
                    score: s,
                    lon: h.lon,
                    lat: h.lat,
                });
            }
            if limit > 0 && pts.len() >= limit {
                break;
            }
        }
    }
    pts
}

fn search_generic(ctx: &mut Ctx, a: &Args, form: Form) -> CmdResult {
    let (src, base) = match form {
        Form::Coords { .. } => (a.at(1), 6),
        Form::Member { .. } => (a.at(1), 5),
        Form::Search { store: false } => (a.at(1), 2),
        Form::Search { store: true } => (a.at(2), 3),
    };
    let mut store_key: Option<&[u8]> = match form {
        Form::Search { store: true } => Some(a.at(1)),
        _ => None,
    };
    // Parse everything while the source set is borrowed; collect the points, then reply.
    let z = match ctx.read_key(src) {
        None => None,
        Some(o) => match o.value() {
            ValueRef::ZSet(z) => Some(z),
            _ => return Err(error::WRONGTYPE),
        },
    };
    let mut center = None;
    let mut radius = None;
    let mut rect = None;
    let mut to_m = 1.0;
    match form {
        Form::Coords { .. } => {
            center = Some(lonlat(a, 2)?);
            radius = Some(distance_arg(a, 4)?);
            to_m = unit(a, 5)?;
        }
        Form::Member { .. } => {
            if let Some(z) = &z {
                center = Some(member_pos(z, a.at(2)).ok_or(MEMBER_ERR)?);
                radius = Some(distance_arg(a, 3)?);
                to_m = unit(a, 4)?;
            }
        }
        Form::Search { .. } => {}
    }
    let (mut withdist, mut withhash, mut withcoord, mut any, mut storedist) = (false, false, false, false, false);
    let mut sort = Sort::None;
    let mut count = 0i64;
    let (mut frommember, mut fromloc) = (false, false);
    let search = matches!(form, Form::Search { .. });
    let may_store = matches!(form, Form::Coords { store: true } | Form::Member { store: true });
    let mut i = base;
    while i < a.len() {
        let left = a.len() - i - 1;
        if a.is(i, "withdist") {
            withdist = true;
        } else if a.is(i, "withhash") {
            withhash = true;
        } else if a.is(i, "withcoord") {
            withcoord = true;
        } else if a.is(i, "any") {
            any = true;
        } else if a.is(i, "asc") {
            sort = Sort::Asc;
        } else if a.is(i, "desc") {
            sort = Sort::Desc;
        } else if a.is(i, "count") && left >= 1 {
            count = a.i64(i + 1)?;
            if count <= 0 {
                return Err(CmdError::new("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (a.is(i, "store") || a.is(i, "storedist")) && left >= 1 && may_store {
            store_key = Some(a.at(i + 1));
            storedist = a.is(i, "storedist");
            i += 1;
        } else if a.is(i, "storedist") && form == (Form::Search { store: true }) {
            storedist = true;
        } else if a.is(i, "frommember") && left >= 1 && search && !fromloc {
            if let Some(z) = &z {
                center = Some(member_pos(z, a.at(i + 1)).ok_or(MEMBER_ERR)?);
            }
            frommember = true;
            i += 1;
        } else if a.is(i, "fromlonlat") && left >= 2 && search && !frommember {
            center = Some(lonlat(a, i + 1)?);
            fromloc = true;
            i += 2;
        } else if a.is(i, "byradius") && left >= 2 && search && rect.is_none() {
            radius = Some(distance_arg(a, i + 1)?);
            to_m = unit(a, i + 2)?;
            i += 2;
        } else if a.is(i, "bybox") && left >= 3 && search && radius.is_none() {
            let w = number(a, i + 1, "ERR need numeric width")?;
            let h = number(a, i + 2, "ERR need numeric height")?;
            if w < 0.0 || h < 0.0 {
                return Err(CmdError::new("ERR height or width cannot be negative"));
            }
            to_m = unit(a, i + 3)?;
            rect = Some((w, h));
            i += 3;
        } else {
            return Err(error::SYNTAX);
        }
        i += 1;
    }
    let name = String::from_utf8_lossy(a.at(0)).into_owned();
    if store_key.is_some() && (withdist || withhash || withcoord) {
        let what = if form == (Form::Search { store: true }) {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::owned(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    if search && !(frommember || fromloc) {
        return Err(CmdError::owned(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && radius.is_none() && rect.is_none() {
        return Err(CmdError::owned(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::new("ERR the ANY argument requires COUNT argument"));
    }
    let (Some(z), Some(center)) = (z, center) else {
        match store_key {
            Some(dst) => super::zset::store_result(ctx, dst, None, "geosearchstore"),
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = match (radius, rect) {
        (_, Some((w, h))) => Shape::rect(center.0, center.1, w, h, to_m),
        (r, None) => Shape::radius(center.0, center.1, r.unwrap_or(0.0), to_m),
    };
    let mut pts = collect(&z, &shape, if any { count as usize } else { 0 });
    let by_dist = |x: &Point, y: &Point| match sort {
        Sort::Desc => y.dist.total_cmp(&x.dist),
        _ => x.dist.total_cmp(&y.dist),
    };
    // Redis compat: geo.c georadiusGeneric sorts every result with qsort (glibc's is a
    // stable merge sort) but only the first COUNT of more with pqsort, whose order of
    // equally distant members is its own.
    let returned = if count > 0 {
        pts.len().min(count as usize)
    } else {
        pts.len()
    };
    if sort != Sort::None && returned > 0 {
        if returned == pts.len() {
            pts.sort_by(by_dist);
        } else {
            crate::util::pqsort::partial_sort(&mut pts, 0, returned as i64 - 1, &by_dist);
        }
    }
    pts.truncate(returned);
    pts.iter_mut().for_each(|p| p.dist /= to_m);
    if let Some(dst) = store_key {
        let mut items: Vec<(Vec<u8>, f64)> = pts
            .into_iter()
            .map(|p| (p.member, if storedist { p.dist } else { p.score }))
            .collect();
        items.sort_by(|x, y| cmp_elem(x.1, &x.0, y.1, &y.0));
        let n = items.len();
        let lim = ctx.limits();
        let built = (n > 0).then(|| (zset_from_sorted(dst, &items, &lim), n));
        let event = if search { "geosearchstore" } else { "georadiusstore" };
        super::zset::store_result(ctx, dst, built, event);
        // One change per member stored (Redis compat: geo.c georadiusGeneric).
        ctx.dirty(n.saturating_sub(1) as u64);
        return Ok(());
    }
    let opts = withdist as usize + withhash as usize + withcoord as usize;
    let out = &mut ctx.out;
    out.array(pts.len());
    for p in &pts {
        if opts > 0 {
            out.array(opts + 1);
        }
        out.bulk(&p.member);
        if withdist {
            reply_distance(out, p.dist);
        }
        if withhash {
            out.int(p.score as i64);
        }
        if withcoord {
            out.array(2);
            reply_coord(out, p.lon);
            reply_coord(out, p.lat);
        }
    }
    Ok(())
}

const MEMBER_ERR: CmdError = CmdError::new("ERR could not decode requested zset member");

fn distance_arg(a: &Args, i: usize) -> Result<f64, CmdError> {
    let d = number(a, i, "ERR need numeric radius")?;
    if d < 0.0 {
        return Err(CmdError::new("ERR radius cannot be negative"));
    }
    Ok(d)
}

fn georadius(ctx: &mut Ctx, a: &Args) -> CmdResult {
    search_generic(ctx, a, Form::Coords { store: true })
}

fn georadius_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    search_generic(ctx, a, Form::Coords { store: false })
}

fn georadiusbymember(ctx: &mut Ctx, a: &Args) -> CmdResult {
    search_generic(ctx, a, Form::Member { store: true })
}

fn georadiusbymember_ro(ctx: &mut Ctx, a: &Args) -> CmdResult {
    search_generic(ctx, a, Form::Member { store: false })
}

fn geosearch(ctx: &mut Ctx, a: &Args) -> CmdResult {
    search_generic(ctx, a, Form::Search { store: false })
}

fn geosearchstore(ctx: &mut Ctx, a: &Args) -> CmdResult {
    search_generic(ctx, a, Form::Search { store: true })
}

/// GEORADIUS and GEORADIUSBYMEMBER may write through STORE/STOREDIST.
fn keys_georadius(argv: &[&[u8]]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut i = 2;
    while i + 1 < argv.len() {
        let a = argv.get(i).copied().unwrap_or_default();
        if a.eq_ignore_ascii_case(b"store") || a.eq_ignore_ascii_case(b"storedist") {
            keys.push(i + 1);
            i += 1;
        }
        i += 1;
    }
    keys
}

const RO: u32 = KS_RO | KS_ACCESS;

pub const COMMANDS: &[CommandSpec] = &[
    cmd("geoadd", -5, WRITE | DENYOOM, ACL_GEO, geoadd)
        .keys(1, 1, 1, KS_RW | KS_UPDATE)
        .doc(
            G,
            "3.2.0",
            "O(log(N)) for each item added",
            "Adds one or more members to a geospatial index.",
        ),
    cmd("geohash", -2, READONLY, ACL_GEO, geohash_cmd)
        .keys(1, 1, 1, RO)
        .doc(
            G,
            "3.2.0",
            "O(1) for each member requested",
            "Returns members from a geospatial index as geohash strings.",
        ),
    cmd("geopos", -2, READONLY, ACL_GEO, geopos).keys(1, 1, 1, RO).doc(
        G,
        "3.2.0",
        "O(1) for each member requested",
        "Returns the longitude and latitude of members.",
    ),
    cmd("geodist", -4, READONLY, ACL_GEO, geodist).keys(1, 1, 1, RO).doc(
        G,
        "3.2.0",
        "O(1)",
        "Returns the distance between two members of a geospatial index.",
    ),
    cmd("georadius", -6, WRITE | DENYOOM | MOVABLE_KEYS, ACL_GEO, georadius)
        .specs(GEORADIUS_SPECS)
        .keys_with(keys_georadius, KS_RO | KS_ACCESS)
        .other_keys(KS_OW | KS_UPDATE)
        .doc(
            G,
            "3.2.0",
            "O(N+log(M))",
            "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.",
        ),
    cmd("georadius_ro", -6, READONLY, ACL_GEO, georadius_ro)
        .keys(1, 1, 1, RO)
        .doc(
            G,
            "3.2.10",
            "O(N+log(M))",
            "Returns members from a geospatial index that are within a distance from a coordinate.",
        ),
    cmd(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM | MOVABLE_KEYS,
        ACL_GEO,
        georadiusbymember,
    )
    .specs(GEORADIUSBYMEMBER_SPECS)
    .keys_with(keys_georadius, KS_RO | KS_ACCESS)
    .other_keys(KS_OW | KS_UPDATE)
    .doc(
        G,
        "3.2.0",
        "O(N+log(M))",
        "Queries a geospatial index for members within a distance from a member, optionally stores the result.",
    ),
    cmd("georadiusbymember_ro", -5, READONLY, ACL_GEO, georadiusbymember_ro)
        .keys(1, 1, 1, RO)
        .doc(
            G,
            "3.2.10",
            "O(N+log(M))",
            "Returns members from a geospatial index that are within a distance from a member.",
        ),
    cmd("geosearch", -7, READONLY, ACL_GEO, geosearch)
        .keys(1, 1, 1, RO)
        .doc(
            G,
            "6.2.0",
            "O(N+log(M))",
            "Queries a geospatial index for members inside an area of a box or a circle.",
        ),
    cmd("geosearchstore", -8, WRITE | DENYOOM, ACL_GEO, geosearchstore)
        .specs(STORE_FROM_ONE)
        .keys(1, 2, 1, KS_OW | KS_UPDATE)
        .other_keys(KS_RO | KS_ACCESS)
        .doc(
            G,
            "6.2.0",
            "O(N+log(M))",
            "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.",
        ),
];
