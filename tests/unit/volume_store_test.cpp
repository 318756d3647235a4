#include "manager/volumes/volume_store.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "libutil/strings.hpp"
#include "manager/images/sqlite.hpp"
#include "manager/storage/rootfs.hpp"
#include "tests/unit/temp_dir.hpp"

using namespace berth;
using namespace berth::manager;

namespace {

const std::string kImage = "sha256:" + std::string(64, 'a');

// A store with one image and one container row (what the container
// lifecycle inserts before it attaches volumes).
struct Fixture {
    TempDir t;
    ImageStore db = std::move(ImageStore::open(t.path).value());
    Fixture() {
        ImageRecord img;
        img.id = kImage;
        img.manifest_digest = "sha256:" + std::string(64, 'b');
        img.config = "{}";
        REQUIRE(db.add(img, {}));
    }
    void add_container(const std::string& id) {
        Query q(db.handle(),
                "INSERT INTO containers (id, name, image_id, image_name, created, state, options) "
                "VALUES (?1, ?1, ?2, 'busybox', '2024-01-01T00:00:00Z', 'created', '{}')");
        q.bind(id).bind(kImage);
        REQUIRE(q.run("insert container"));
    }
    void delete_container(const std::string& id) {
        Query q(db.handle(), "DELETE FROM containers WHERE id = ?1");
        q.bind(id);
        REQUIRE(q.run("delete container"));
    }
    MountRequest volume(const std::string& name, const std::string& dst) {
        MountRequest r;
        r.type = MountRequest::Type::Volume;
        r.source = name;
        r.destination = dst;
        return r;
    }
};

// REQUIRE(ok(r)) shows the error when r failed.
template <class T>
bool ok(const Result<T>& r) {
    if (!r) UNSCOPED_INFO(r.error().what());
    return r.has_value();
}

bool exists(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("volumes: names follow docker's rule") {
    for (std::string good : {"ab", "data", "my_vol-1.2", "A9", "0123456789abcdef0123456789abcdef"})
        CHECK(validate_volume_name(good));
    for (const char* bad : {"", "a", "a/b", "-ab", ".ab", "_ab", "a b", "a:b", "..", "vol\n"}) {
        auto r = validate_volume_name(bad);
        CHECK_FALSE(r);
    }
    auto r = validate_volume_name("a/b");
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("invalid volume name \"a/b\": "));
    auto n = random_hex_id();
    REQUIRE(n);
    CHECK(n->size() == 64);
    CHECK(validate_volume_name(*n));
}

TEST_CASE("volumes: driver and -o options as docker's local driver") {
    using M = std::map<std::string, std::string>;
    CHECK(validate_volume_options("local", {}));
    CHECK(validate_volume_options("local", M{{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=64m,mode=700"}}));
    CHECK(validate_volume_options("local", M{{"type", "none"}, {"device", "/tmp"}, {"o", "bind"}}));
    CHECK(validate_volume_options("local", M{{"type", "none"}, {"device", "/tmp"}, {"o", "rbind,ro"}}));
    auto msg = [](const std::string& driver, const M& o) {
        auto r = validate_volume_options(driver, o);
        return r ? std::string("ok") : r.error().what();
    };
    CHECK(msg("nfs", {}) == "volume driver \"nfs\" is not supported (only \"local\")");
    CHECK(msg("local", {{"foo", "bar"}}) == "invalid volume option key: \"foo\"");
    CHECK(msg("local", {{"device", "tmpfs"}}) == "volume option o or device needs type");
    CHECK(msg("local", {{"type", "tmpfs"}}) == "volume option type=tmpfs needs device");
    CHECK(msg("local", {{"type", "ext4"}, {"device", "/dev/sda"}}) ==
          "volume option type=ext4 is not supported (tmpfs or none)");
    CHECK(msg("local", {{"type", "none"}, {"device", "/tmp"}}) == "volume option type=none needs o=bind");
    CHECK(msg("local", {{"type", "none"}, {"device", "tmp"}, {"o", "bind"}}) ==
          "volume option device=tmp: must be an absolute path");
    CHECK(msg("local", {{"type", "none"}, {"device", "/nonexistent-berth"}, {"o", "bind"}}) ==
          "volume option device=/nonexistent-berth: No such file or directory");
}

TEST_CASE("volumes: create, get, list, remove, and the in-use refusal") {
    Fixture f;
    VolumeStore s(f.db, f.t.path);
    VolumeRecord v;
    v.name = "data";
    v.labels = {{"k", "v"}};
    v.options = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m"}};
    REQUIRE(ok(s.create(v)));
    CHECK(exists(f.t.path + "/volumes/data/_data"));
    auto again = s.create(v);
    REQUIRE_FALSE(again);
    CHECK(again.error().message == "volume data already exists");
    auto got = s.get("data");
    REQUIRE(got);
    REQUIRE(*got);
    CHECK((*got)->labels == v.labels);
    CHECK((*got)->options == v.options);
    CHECK_FALSE((*got)->anonymous);
    CHECK_FALSE((*got)->created.empty());

    // A container uses it: no removal, forced or not, and SQLite agrees.
    f.add_container("c1");
    auto mounts = attach_volumes(f.db, f.t.path, "c1", {f.volume("data", "/data")}, {});
    REQUIRE(mounts);
    auto users = s.users("data");
    REQUIRE(users);
    CHECK(*users == std::vector<std::string>{"c1"});
    for (bool force : {false, true}) {
        auto r = s.remove("data", force);
        REQUIRE_FALSE(r);
        CHECK(r.error().message == "volume data is in use by container c1");
    }
    Query q(f.db.handle(), "DELETE FROM volumes WHERE name = 'data'");
    CHECK_FALSE(q.run("delete"));
    CHECK(exists(f.t.path + "/volumes/data/_data"));

    f.delete_container("c1");  // the cascade drops container_volumes
    REQUIRE(ok(s.remove("data", false)));
    CHECK_FALSE(exists(f.t.path + "/volumes/data"));
    auto gone = s.remove("data", false);
    REQUIRE_FALSE(gone);
    CHECK(gone.error().message == "no such volume: data");
    CHECK(s.remove("data", true));
    auto all = s.list();
    REQUIRE(all);
    CHECK(all->empty());
}

TEST_CASE("volumes: attach resolves binds, named, anonymous, image and tmpfs mounts") {
    Fixture f;
    f.add_container("c1");
    std::vector<MountRequest> req;
    MountRequest bind;
    bind.type = MountRequest::Type::Bind;
    bind.source = f.t.path;
    bind.destination = "/host";
    bind.read_only = true;
    req.push_back(bind);
    req.push_back(f.volume("named", "/named/"));
    req.push_back(f.volume("", "/anon"));
    MountRequest tmpfs;
    tmpfs.type = MountRequest::Type::Tmpfs;
    tmpfs.destination = "/run";
    tmpfs.tmpfs_size = 1024;
    req.push_back(tmpfs);
    // /named is covered by a request; /var/lib/x is not.
    auto m = attach_volumes(f.db, f.t.path, "c1", req, {"/var/lib/x", "/named"});
    REQUIRE(m);
    REQUIRE(m->size() == 5);
    CHECK((*m)[0].source == f.t.path);
    CHECK((*m)[0].options == std::vector<std::string>{"rbind", "rprivate", "ro"});
    CHECK((*m)[1].destination == "/named");
    CHECK((*m)[1].source == f.t.path + "/volumes/named/_data");
    CHECK((*m)[3].type == "tmpfs");
    CHECK((*m)[3].options == std::vector<std::string>{"nosuid", "nodev", "noexec", "size=1024", "mode=1777"});
    CHECK((*m)[4].destination == "/var/lib/x");

    VolumeStore s(f.db, f.t.path);
    auto all = s.list();
    REQUIRE(all);
    REQUIRE(all->size() == 3);
    int anonymous = 0;
    for (const auto& v : *all)
        anonymous += v.anonymous;
    CHECK(anonymous == 2);
    auto uses = container_volumes(f.db, "c1");
    REQUIRE(uses);
    CHECK(uses->size() == 3);

    // rm -v: the anonymous ones go, the named one stays.
    f.delete_container("c1");
    REQUIRE(ok(release_volumes(f.db, f.t.path, *uses, true)));
    all = s.list();
    REQUIRE(all);
    REQUIRE(all->size() == 1);
    CHECK((*all)[0].name == "named");
}

TEST_CASE("volumes: attach errors: a missing --mount bind source, a bad name, a duplicate destination") {
    Fixture f;
    f.add_container("c1");
    MountRequest bind;
    bind.type = MountRequest::Type::Bind;
    bind.source = f.t.path + "/missing";
    bind.destination = "/x";
    auto r = attach_volumes(f.db, f.t.path, "c1", {bind}, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "bind source path does not exist: " + f.t.path + "/missing");
    // -v creates it, at prepare time.
    bind.create_host_dir = true;
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c1", {bind}, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c1", f.t.path, {bind})));
    CHECK(exists(f.t.path + "/missing"));

    f.add_container("c2");
    auto bad = attach_volumes(f.db, f.t.path, "c2", {f.volume("a/b", "/x")}, {});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.starts_with("invalid volume name \"a/b\""));
    auto dup = attach_volumes(f.db, f.t.path, "c2", {f.volume("v1", "/x"), f.volume("v2", "/x/")}, {});
    REQUIRE_FALSE(dup);
    CHECK(dup.error().message == "duplicate mount point: /x");
}

TEST_CASE("volumes: attach runs inside the caller's transaction and rolls back with it") {
    Fixture f;
    auto r = f.db.transaction([&]() -> Result<void> {
        f.add_container("c1");
        TRY(attach_volumes(f.db, f.t.path, "c1", {f.volume("v1", "/x"), f.volume("", "/y")}, {"/z"}));
        return Err("the container failed later");
    });
    REQUIRE_FALSE(r);
    VolumeStore s(f.db, f.t.path);
    auto all = s.list();
    REQUIRE(all);
    CHECK(all->empty());
    CHECK_FALSE(exists(f.t.path + "/volumes"));
}

TEST_CASE("volumes: copy-up copies the image's content once, and never follows a symlink out of the rootfs") {
    Fixture f;
    std::string rootfs = f.t.path + "/rootfs", outside = f.t.path + "/outside";
    REQUIRE(mkdir_all(rootfs + "/data/sub", 0750));
    REQUIRE(mkdir_all(outside, 0755));
    REQUIRE(write_file(outside + "/secret", "host secret"));
    REQUIRE(write_file(rootfs + "/data/file", "hello", 0640));
    REQUIRE(write_file(rootfs + "/data/sub/deep", "deep"));
    REQUIRE(::chown((rootfs + "/data/file").c_str(), 1234, 5678) == 0);
    REQUIRE(::setxattr((rootfs + "/data/file").c_str(), "user.berth", "x", 1, 0) == 0);
    REQUIRE(::symlink("/etc", (rootfs + "/data/link").c_str()) == 0);
    REQUIRE(::mkfifo((rootfs + "/data/fifo").c_str(), 0600) == 0);
    REQUIRE(::link((rootfs + "/data/file").c_str(), (rootfs + "/data/sub/hardlink").c_str()) == 0);
    // /escape in the image points at the host's dir: resolved inside the rootfs,
    // it names rootfs/<outside path>, which does not exist.
    REQUIRE(::symlink(outside.c_str(), (rootfs + "/escape").c_str()) == 0);
    REQUIRE(::symlink("../../..", (rootfs + "/data/sub/up").c_str()) == 0);

    f.add_container("c1");
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c1", {f.volume("vv", "/data"), f.volume("ee", "/escape")}, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c1", rootfs, {})));
    std::string data = f.t.path + "/volumes/vv/_data";
    auto content = read_file(data + "/file");
    REQUIRE(content);
    CHECK(*content == "hello");
    struct stat st;
    REQUIRE(::stat((data + "/file").c_str(), &st) == 0);
    CHECK(st.st_uid == 1234);
    CHECK(st.st_gid == 5678);
    CHECK((st.st_mode & 07777) == 0640);
    char x[4] = {};
    CHECK(::getxattr((data + "/file").c_str(), "user.berth", x, sizeof x) == 1);
    REQUIRE(::stat(data.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0750);  // the dir itself takes the image's mode
    char link[64] = {};
    CHECK(::readlink((data + "/link").c_str(), link, sizeof link) == 4);
    CHECK(std::string(link) == "/etc");
    CHECK(::readlink((data + "/sub/up").c_str(), link, sizeof link) == 8);
    REQUIRE(::lstat((data + "/fifo").c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK(read_file(data + "/sub/deep").value_or("") == "deep");
    struct stat linked;
    REQUIRE(::stat((data + "/sub/hardlink").c_str(), &linked) == 0);
    REQUIRE(::stat((data + "/file").c_str(), &st) == 0);
    CHECK(linked.st_ino == st.st_ino);  // still one file with two names
    // Nothing of the host came through the escaping symlink.
    CHECK_FALSE(exists(f.t.path + "/volumes/ee/_data/secret"));

    // Once only: emptied, the volume stays empty for the next container.
    std::filesystem::remove_all(data);
    REQUIRE(mkdir_all(data));
    f.add_container("c2");
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c2", {f.volume("vv", "/data")}, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c2", rootfs, {})));
    CHECK_FALSE(exists(data + "/file"));

    // nocopy: a new volume gets nothing.
    f.add_container("c3");
    auto req = f.volume("ww", "/data");
    req.nocopy = true;
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c3", {req}, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c3", rootfs, {req})));
    CHECK_FALSE(exists(f.t.path + "/volumes/ww/_data/file"));
}

TEST_CASE("volumes: a tmpfs volume is mounted while used, unmounted after the last user and at rm") {
    Fixture f;
    VolumeStore s(f.db, f.t.path);
    VolumeRecord v;
    v.name = "tt";
    v.options = {{"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m,mode=700"}};
    REQUIRE(ok(s.create(v)));
    std::string rootfs = f.t.path + "/rootfs";
    REQUIRE(mkdir_all(rootfs + "/data"));
    REQUIRE(write_file(rootfs + "/data/f", "x"));
    std::string data = f.t.path + "/volumes/tt/_data";
    auto fs_type = [&] {
        struct statfs sf;
        return ::statfs(data.c_str(), &sf) == 0 ? static_cast<long>(sf.f_type) : 0L;
    };
    f.add_container("c1");
    f.add_container("c2");
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c1", {f.volume("tt", "/data")}, {})));
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c2", {f.volume("tt", "/data")}, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c1", rootfs, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c2", rootfs, {})));  // mounted once
    CHECK(fs_type() == 0x01021994);                                  // TMPFS_MAGIC
    CHECK(read_file(data + "/f").value_or("") == "x");
    for (const char* id : {"c1", "c2"}) {
        auto uses = container_volumes(f.db, id);
        REQUIRE(uses);
        f.delete_container(id);
        REQUIRE(ok(release_volumes(f.db, f.t.path, *uses, true)));
        if (std::string(id) == "c1") CHECK(fs_type() == 0x01021994);  // c2 still uses it
    }
    CHECK(fs_type() != 0x01021994);
    CHECK_FALSE(exists(data + "/f"));

    // rm of a mounted volume (a user gone without release) unmounts it.
    f.add_container("c3");
    REQUIRE(ok(attach_volumes(f.db, f.t.path, "c3", {f.volume("tt", "/data")}, {})));
    REQUIRE(ok(prepare_volumes(f.db, f.t.path, "c3", rootfs, {})));
    CHECK(fs_type() == 0x01021994);
    f.delete_container("c3");
    REQUIRE(ok(s.remove("tt", false)));
    CHECK_FALSE(exists(f.t.path + "/volumes/tt"));
}

TEST_CASE("volumes: copy-up from a mounted overlay rootfs sees the merged image, whiteouts included") {
    TempDir t;
    auto rs = RootfsStore::open(t.path);
    REQUIRE(ok(rs));
    std::string bottom = "sha256:" + std::string(64, 'b'), top = "sha256:" + std::string(64, 'c');
    std::string lb = t.path + "/layers/" + bottom.substr(7), lt = t.path + "/layers/" + top.substr(7);
    REQUIRE(mkdir_all(lb + "/data"));
    REQUIRE(mkdir_all(lt + "/data"));
    REQUIRE(write_file(lb + "/data/a", "bottom"));
    REQUIRE(write_file(lb + "/data/gone", "x"));
    REQUIRE(write_file(lt + "/data/a", "top"));
    REQUIRE(::mknod((lt + "/data/gone").c_str(), S_IFCHR, makedev(0, 0)) == 0);  // an overlay whiteout
    ImageRecord img;
    img.id = kImage;
    img.manifest_digest = kImage;
    img.config = "{}";
    img.layers = {bottom, top};
    REQUIRE(rs->images().add(img, {}));
    auto id = rs->create(kImage);
    REQUIRE(ok(id));
    auto merged = rs->mount(*id);
    REQUIRE(ok(merged));
    {
        Query q(rs->images().handle(),
                "INSERT INTO containers (id, name, image_id, image_name, created, state, options) "
                "VALUES (?1, ?1, ?2, 'busybox', '2024-01-01T00:00:00Z', 'created', '{}')");
        q.bind(*id).bind(kImage);
        REQUIRE(q.run("insert container"));
    }
    auto m = attach_volumes(rs->images(), t.path, *id, {}, {"/data"});
    REQUIRE(ok(m));
    REQUIRE(ok(prepare_volumes(rs->images(), t.path, *id, *merged, {})));
    REQUIRE(m->size() == 1);
    std::string data = (*m)[0].source;
    CHECK(read_file(data + "/a").value_or("") == "top");
    CHECK_FALSE(exists(data + "/gone"));
    REQUIRE(ok(rs->remove(*id)));
}
