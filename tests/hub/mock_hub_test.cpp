// Tests of the mock Hub itself, driven by a plain httplib::Client (no libcurl, no mbuild code),
// so that Hub client tests can trust what the mock does.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#include <httplib.h>
#pragma GCC diagnostic pop

#include "mock_hub.hpp"

namespace {

using mbuild::test::corpus_repo;
using mbuild::test::Faults;
using mbuild::test::MockHub;
using mbuild::test::RepoSpec;
using Json = nlohmann::json;

const std::string k_llama = "meta-llama/Llama-3.2-1B-Instruct";
const std::string k_qwen = "Qwen/Qwen2.5-7B-Instruct";

std::filesystem::path corpus_dir() {
  return std::filesystem::path(MBUILD_TEST_DATA) / "corpus";
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The full size of a header-only safetensors replica, computed here independently of the mock.
std::uint64_t logical_size(const std::filesystem::path& path) {
  std::string bytes = slurp(path);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(i)]);
  }
  Json header = Json::parse(bytes.substr(8, static_cast<std::size_t>(n)));
  std::uint64_t end = 0;
  for (const auto& [name, info] : header.items()) {
    if (name != "__metadata__") {
      end = std::max(end, info["data_offsets"][1].get<std::uint64_t>());
    }
  }
  return 8 + n + end;
}

std::string safetensors_bytes(const std::string& header) {
  std::string out(8, '\0');
  for (std::size_t i = 0; i < 8; ++i) {
    out[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  return out + header;
}

// A hub serving the Llama-3.2-1B (single file) and Qwen2.5-7B (4 shards) corpus replicas.
struct CorpusHub {
  MockHub hub;
  CorpusHub() {
    hub.add_repo(corpus_repo(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct"));
    hub.add_repo(corpus_repo(corpus_dir() / "Qwen__Qwen2.5-7B-Instruct"));
  }
};

// Splits "http://host:port/path?query" into the origin and the path with its query.
std::pair<std::string, std::string> split_url(const std::string& url) {
  std::size_t slash = url.find('/', url.find("://") + 3);
  return {url.substr(0, slash), url.substr(slash)};
}

httplib::Headers headers(std::initializer_list<std::pair<const std::string, std::string>> list) {
  return httplib::Headers(list);
}

bool is_hex_of_length(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string unquote(const std::string& s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"' ? s.substr(1, s.size() - 2) : s;
}

}  // namespace

TEST_CASE("resolve answers config.json with a relative 307 to the resolve cache") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  std::string commit = fx.hub.commit_of(k_llama, "main");
  REQUIRE(is_hex_of_length(commit, 40));

  auto head = hub.Head(("/" + k_llama + "/resolve/main/config.json").c_str());
  REQUIRE(head);
  CHECK(head->status == 307);
  CHECK(head->get_header_value("X-Repo-Commit") == commit);
  std::string location = head->get_header_value("Location");
  CHECK(location.starts_with("/api/resolve-cache/models/" + k_llama + "/" + commit +
                             "/config.json?etag="));

  std::string expected = slurp(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/config.json");
  auto get = hub.Get(location.c_str());
  REQUIRE(get);
  CHECK(get->status == 200);
  CHECK(get->body == expected);
  CHECK(get->get_header_value("Content-Length") == std::to_string(expected.size()));
  CHECK(get->get_header_value("Accept-Ranges") == "bytes");
  CHECK(get->get_header_value("X-Repo-Commit") == commit);
  std::string etag = get->get_header_value("ETag");
  CHECK(is_hex_of_length(unquote(etag), 40));
  CHECK(etag.front() == '"');

  auto ranged = hub.Get(location.c_str(), headers({{"Range", "bytes=0-9"}}));
  REQUIRE(ranged);
  CHECK(ranged->status == 206);
  CHECK(ranged->body == expected.substr(0, 10));
  CHECK(ranged->get_header_value("Content-Range") == fmt::format("bytes 0-9/{}", expected.size()));

  // A range past the end is clamped (RFC 9110), not echoed back.
  auto big = hub.Get(location.c_str(), headers({{"Range", "bytes=0-100000"}}));
  REQUIRE(big);
  CHECK(big->status == 206);
  CHECK(big->body == expected);
  CHECK(big->get_header_value("Content-Range") ==
        fmt::format("bytes 0-{}/{}", expected.size() - 1, expected.size()));

  auto cached = hub.Get(location.c_str(), headers({{"If-None-Match", etag}}));
  REQUIRE(cached);
  CHECK(cached->status == 304);
}

TEST_CASE("with the 307 switch off, resolve answers small files with 200") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) { f.relative_307_for_small_files = false; });
  httplib::Client hub(fx.hub.endpoint());
  auto get = hub.Get(("/" + k_llama + "/resolve/main/config.json").c_str());
  REQUIRE(get);
  CHECK(get->status == 200);
  CHECK(get->body == slurp(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/config.json"));
  CHECK(get->get_header_value("X-Repo-Commit") == fx.hub.commit_of(k_llama, "main"));
  CHECK_FALSE(get->get_header_value("ETag").empty());
}

TEST_CASE("resolve of a safetensors file is a 302 to the CDN with the logical size") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  std::uint64_t size =
      logical_size(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/model.safetensors");
  CHECK(size > 1'000'000'000);  // 1.2B parameters in BF16
  CHECK(fx.hub.served_size(k_llama, "model.safetensors") == size);

  auto res = hub.Head(("/" + k_llama + "/resolve/main/model.safetensors").c_str());
  REQUIRE(res);
  CHECK(res->status == 302);
  CHECK(res->get_header_value("X-Linked-Size") == std::to_string(size));
  CHECK(res->get_header_value("X-Repo-Commit") == fx.hub.commit_of(k_llama, "main"));
  CHECK(is_hex_of_length(unquote(res->get_header_value("X-Linked-Etag")), 64));
  CHECK_FALSE(res->get_header_value("ETag").empty());
  CHECK_FALSE(res->get_header_value("X-Xet-Hash").empty());
  CHECK(res->get_header_value("Link").find("rel=\"xet-auth\"") != std::string::npos);
  CHECK(res->get_header_value("Content-Length") != std::to_string(size));
  std::string location = res->get_header_value("Location");
  CHECK(location.starts_with(fx.hub.cdn_origin() + "/xet-bridge/"));
  CHECK(location.find("X-Amz-Signature=") != std::string::npos);
  CHECK(location.find("Expires=") != std::string::npos);
}

TEST_CASE("the CDN serves ranges of the logical file with zeros past the replica") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  std::filesystem::path file = corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/model.safetensors";
  std::string replica = slurp(file);
  std::uint64_t size = logical_size(file);
  auto redirect = hub.Get(("/" + k_llama + "/resolve/main/model.safetensors").c_str(),
                          headers({{"Authorization", "Bearer hf_valid_alice"}}));
  REQUIRE(redirect);
  REQUIRE(redirect->status == 302);
  auto [origin, target] = split_url(redirect->get_header_value("Location"));
  CHECK(origin == fx.hub.cdn_origin());
  httplib::Client cdn(origin);

  auto first = cdn.Get(target.c_str(), headers({{"Range", "bytes=0-7"}}));
  REQUIRE(first);
  CHECK(first->status == 206);
  CHECK(first->body == replica.substr(0, 8));
  CHECK(first->get_header_value("Content-Range") == fmt::format("bytes 0-7/{}", size));
  CHECK(first->get_header_value("Accept-Ranges") == "bytes");
  CHECK_FALSE(first->get_header_value("ETag").empty());
  CHECK_FALSE(first->has_header("X-Repo-Commit"));
  CHECK_FALSE(first->has_header("X-Linked-Size"));

  auto whole_header = cdn.Get(target.c_str(), headers({{"Range", "bytes=0-100000"}}));
  REQUIRE(whole_header);
  CHECK(whole_header->status == 206);
  REQUIRE(whole_header->body.size() == 100001);
  CHECK(whole_header->body.substr(0, replica.size()) == replica);
  CHECK(whole_header->body.substr(replica.size()) == std::string(100001 - replica.size(), '\0'));

  auto tail = cdn.Get(target.c_str(), headers({{"Range", "bytes=-4"}}));
  REQUIRE(tail);
  CHECK(tail->status == 206);
  CHECK(tail->get_header_value("Content-Range") ==
        fmt::format("bytes {}-{}/{}", size - 4, size - 1, size));

  auto past = cdn.Get(target.c_str(), headers({{"Range", fmt::format("bytes={}-", size)}}));
  REQUIRE(past);
  CHECK(past->status == 416);
  CHECK(past->get_header_value("Content-Range") == fmt::format("bytes */{}", size));

  auto head = cdn.Head(target.c_str());
  REQUIRE(head);
  CHECK(head->status == 403);

  // The CDN logs whether Authorization arrived (this client sent none).
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 6);
  CHECK(log[0].authorization);
  CHECK_FALSE(log[0].cdn);
  for (std::size_t i = 1; i < log.size(); ++i) {
    CHECK(log[i].cdn);
    CHECK_FALSE(log[i].authorization);
  }
}

TEST_CASE("revisions resolve by branch, tag, sha and refs/pr/N") {
  MockHub hub;
  RepoSpec spec = corpus_repo(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct");
  std::string dev = std::string(40, 'd');
  spec.branches = {{"main", ""}, {"dev", dev}};
  spec.tags = {{"v1.0", ""}};
  spec.prs = {{1, ""}};
  hub.add_repo(spec);
  httplib::Client client(hub.endpoint());
  auto commit_for = [&](const std::string& rev) {
    auto res = client.Head(("/" + k_llama + "/resolve/" + rev + "/config.json").c_str());
    REQUIRE(res);
    CHECK(res->status == 307);
    return res->get_header_value("X-Repo-Commit");
  };
  std::string main = hub.commit_of(k_llama, "main");
  CHECK(main == mbuild::test::derived_commit(k_llama, "main"));
  CHECK(commit_for("main") == main);
  CHECK(commit_for("dev") == dev);
  CHECK(commit_for("v1.0") == hub.commit_of(k_llama, "v1.0"));
  CHECK(commit_for(main) == main);
  CHECK(commit_for("refs%2Fpr%2F1") == hub.commit_of(k_llama, "refs/pr/1"));
  CHECK(hub.commit_of(k_llama, "refs/pr/1") != main);

  for (const std::string& rev :
       std::vector<std::string>{"nope", "refs/pr/1", std::string(40, 'e'), main.substr(0, 7)}) {
    auto res = client.Get(("/" + k_llama + "/resolve/" + rev + "/config.json").c_str());
    REQUIRE(res);
    CHECK(res->status == 404);
    CHECK(res->get_header_value("X-Error-Code") == "RevisionNotFound");
    std::string shown = rev == "refs/pr/1" ? "refs" : rev;  // unencoded: "refs" is the rev
    CHECK(res->get_header_value("X-Error-Message") == "Invalid rev id: " + shown);
    CHECK(Json::parse(res->body)["error"] == "Invalid rev id: " + shown);
  }

  hub.update_faults([](Faults& f) { f.short_sha_revisions = true; });
  CHECK(commit_for(main.substr(0, 7)) == main);
}

TEST_CASE("a missing file is 404 EntryNotFound with X-Repo-Commit") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  auto res = hub.Get(("/" + k_llama + "/resolve/main/model.safetensors.index.json").c_str());
  REQUIRE(res);
  CHECK(res->status == 404);
  CHECK(res->get_header_value("X-Error-Code") == "EntryNotFound");
  CHECK(res->get_header_value("X-Repo-Commit") == fx.hub.commit_of(k_llama, "main"));
  CHECK(Json::parse(res->body).contains("error"));

  auto head = hub.Head(("/" + k_llama + "/resolve/main/nope.json").c_str());
  REQUIRE(head);
  CHECK(head->status == 404);
  CHECK(head->body.empty());
  CHECK(head->get_header_value("X-Error-Code") == "EntryNotFound");
}

TEST_CASE("the auth matrix: missing, private, gated, bad token") {
  MockHub hub;
  RepoSpec gated = corpus_repo(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct");
  gated.access = RepoSpec::Access::gated;
  gated.approved_tokens = {"hf_valid_approved"};
  hub.add_repo(gated);
  RepoSpec secret;
  secret.id = "acme/secret";
  secret.files = {{"config.json", "{}"}};
  secret.access = RepoSpec::Access::private_;
  secret.approved_tokens = {"hf_valid_owner"};
  hub.add_repo(secret);
  httplib::Client client(hub.endpoint());

  struct Case {
    std::string path;
    std::string token;
    int status;
    std::string code;
  };
  const std::string gated_file = "/" + k_llama + "/resolve/main/config.json";
  const std::vector<Case> cases = {
      {"/acme/missing/resolve/main/config.json", "", 401, "RepoNotFound"},
      {"/acme/missing/resolve/main/config.json", "hf_valid_bob", 404, "RepoNotFound"},
      {"/acme/secret/resolve/main/config.json", "", 401, "RepoNotFound"},
      {"/acme/secret/resolve/main/config.json", "hf_valid_bob", 404, "RepoNotFound"},
      {"/acme/secret/resolve/main/config.json", "hf_valid_owner", 307, ""},
      {"/api/models/acme/secret", "", 401, "RepoNotFound"},
      {"/api/models/acme/secret", "hf_valid_owner", 200, ""},
      {gated_file, "", 401, "GatedRepo"},
      {gated_file, "hf_valid_bob", 403, "GatedRepo"},
      {gated_file, "hf_valid_approved", 307, ""},
      {"/api/models/" + k_llama, "", 200, ""},  // metadata of a gated repo is public
      {gated_file, "hf_bogus", 401, ""},
      {"/api/models/" + k_llama, "hf_bogus", 401, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.path, c.token);
    httplib::Headers h;
    if (!c.token.empty()) {
      h.emplace("Authorization", "Bearer " + c.token);
    }
    auto res = client.Get(c.path.c_str(), h);
    REQUIRE(res);
    CHECK(res->status == c.status);
    CHECK(res->get_header_value("X-Error-Code") == c.code);
    if (c.token == "hf_bogus") {
      CHECK(res->get_header_value("X-Error-Message") ==
            "Invalid credentials in Authorization header");
    }
    if (c.code == "GatedRepo" && c.status == 401) {
      CHECK(res->get_header_value("X-Error-Message") ==
            "Access to model " + k_llama +
                " is restricted. You must have access to it and be authenticated to access it. "
                "Please log in.");
    }
    if (c.code == "GatedRepo" && c.status == 403) {
      CHECK(res->get_header_value("X-Error-Message")
                .find("restricted and you are not in the authorized list. Visit " + hub.endpoint() +
                      "/" + k_llama + " to ask for access.") != std::string::npos);
    }
  }
  auto info = client.Get(("/api/models/" + k_llama).c_str());
  REQUIRE(info);
  CHECK(Json::parse(info->body)["gated"] == "manual");
}

TEST_CASE("429 carries RateLimit, RateLimit-Policy and Retry-After") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.fail_next_n = 1;
    f.fail_status = 429;
    f.retry_after_seconds = 7;
  });
  httplib::Client hub(fx.hub.endpoint());
  auto res = hub.Head(("/" + k_llama + "/resolve/main/model.safetensors").c_str());
  REQUIRE(res);
  CHECK(res->status == 429);
  CHECK(res->get_header_value("RateLimit") == "\"resolvers\";r=0;t=7");
  CHECK(res->get_header_value("RateLimit-Policy") == "\"fixed window\";\"resolvers\";q=3000;w=300");
  CHECK(res->get_header_value("Retry-After") == "7");
  auto again = hub.Head(("/" + k_llama + "/resolve/main/model.safetensors").c_str());
  REQUIRE(again);
  CHECK(again->status == 302);

  fx.hub.update_faults([](Faults& f) {
    f.fail_next_n = 1;
    f.retry_after_http_date = true;
  });
  auto dated = hub.Get(("/api/models/" + k_llama).c_str());
  REQUIRE(dated);
  CHECK(dated->status == 429);
  CHECK(dated->get_header_value("Retry-After").ends_with(" GMT"));
  CHECK(dated->get_header_value("RateLimit").starts_with("\"api\""));
}

TEST_CASE("fail_next_n answers the next N requests with 5xx, then succeeds") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  for (int status : {500, 502, 503, 504}) {
    fx.hub.update_faults([&](Faults& f) {
      f.fail_next_n = 2;
      f.fail_status = status;
    });
    std::string path = "/" + k_llama + "/resolve/main/config.json";
    auto a = hub.Get(path.c_str());
    auto b = hub.Get(path.c_str());
    auto c = hub.Get(path.c_str());
    REQUIRE((a && b && c));
    CHECK(a->status == status);
    CHECK(b->status == status);
    CHECK(c->status == 307);
  }
  CHECK(fx.hub.faults().fail_next_n == 0);

  // Scoped to the CDN: Hub requests pass.
  fx.hub.update_faults([](Faults& f) {
    f.target = mbuild::test::FaultTarget::cdn;
    f.fail_next_n = 1;
    f.fail_status = 500;
  });
  auto redirect = hub.Get(("/" + k_llama + "/resolve/main/model.safetensors").c_str());
  REQUIRE(redirect);
  CHECK(redirect->status == 302);
  auto [origin, target] = split_url(redirect->get_header_value("Location"));
  httplib::Client cdn(origin);
  auto failed = cdn.Get(target.c_str(), headers({{"Range", "bytes=0-7"}}));
  auto ok = cdn.Get(target.c_str(), headers({{"Range", "bytes=0-7"}}));
  REQUIRE((failed && ok));
  CHECK(failed->status == 500);
  CHECK(ok->status == 206);
}

TEST_CASE("body faults: ignore range, gzip, truncation, mid-stream close, wrong Content-Range") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) { f.relative_307_for_small_files = false; });
  httplib::Client hub(fx.hub.endpoint());
  std::string path = "/" + k_llama + "/resolve/main/config.json";
  std::string expected = slurp(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/config.json");

  SECTION("ignore_range") {
    fx.hub.update_faults([](Faults& f) { f.ignore_range = true; });
    auto res = hub.Get(path.c_str(), headers({{"Range", "bytes=0-9"}}));
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == expected);
    CHECK_FALSE(res->has_header("Content-Range"));
  }
  SECTION("gzip_on_range") {
    fx.hub.update_faults([](Faults& f) { f.gzip_on_range = true; });
    hub.set_decompress(false);
    auto res = hub.Get(path.c_str(), headers({{"Range", "bytes=0-9"}}));
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->get_header_value("Content-Encoding") == "gzip");
    REQUIRE(res->body.size() > 2);
    CHECK(static_cast<unsigned char>(res->body[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(res->body[1]) == 0x8b);
    hub.set_decompress(true);
    auto inflated = hub.Get(path.c_str(), headers({{"Range", "bytes=0-9"}}));
    REQUIRE(inflated);
    CHECK(inflated->body == expected);
  }
  SECTION("truncate_body") {
    fx.hub.update_faults([](Faults& f) { f.truncate_body = true; });
    auto res = hub.Get(path.c_str());
    CHECK_FALSE(res);
  }
  SECTION("close_mid_stream") {
    fx.hub.update_faults([](Faults& f) { f.close_mid_stream = true; });
    auto res = hub.Get(path.c_str());
    CHECK_FALSE(res);
  }
  SECTION("chunked bodies have no Content-Length") {
    fx.hub.update_faults([](Faults& f) { f.chunked_bodies = true; });
    auto res = hub.Get(path.c_str());
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == expected);
    CHECK_FALSE(res->has_header("Content-Length"));
    CHECK(res->get_header_value("Transfer-Encoding") == "chunked");
  }
  SECTION("wrong_content_range") {
    fx.hub.update_faults([](Faults& f) { f.wrong_content_range = true; });
    auto res = hub.Get(path.c_str(), headers({{"Range", "bytes=0-9"}}));
    REQUIRE(res);
    CHECK(res->status == 206);
    CHECK(res->body == expected.substr(0, 10));
    CHECK(res->get_header_value("Content-Range") == fmt::format("bytes 1-10/{}", expected.size()));
  }
  SECTION("dropped headers") {
    fx.hub.update_faults([](Faults& f) {
      f.drop_repo_commit = true;
      f.drop_linked_size = true;
      f.drop_etag = true;
    });
    auto res = hub.Head(("/" + k_llama + "/resolve/main/model.safetensors").c_str());
    REQUIRE(res);
    CHECK(res->status == 302);
    CHECK_FALSE(res->has_header("X-Repo-Commit"));
    CHECK_FALSE(res->has_header("X-Linked-Size"));
    CHECK_FALSE(res->has_header("ETag"));
    CHECK_FALSE(res->has_header("X-Linked-Etag"));
  }
  SECTION("faults can be scoped to a path") {
    fx.hub.update_faults([](Faults& f) {
      f.ignore_range = true;
      f.path_contains = "generation_config";
    });
    auto res = hub.Get(path.c_str(), headers({{"Range", "bytes=0-9"}}));
    REQUIRE(res);
    CHECK(res->status == 206);
  }
}

TEST_CASE("error pages: HTML on demand, bodiless HEAD, no error code on demand") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  fx.hub.update_faults([](Faults& f) { f.html_error_pages = true; });
  auto html = hub.Get("/acme/missing/resolve/main/config.json");
  REQUIRE(html);
  CHECK(html->status == 401);
  CHECK(html->get_header_value("Content-Type").starts_with("text/html"));
  CHECK(html->body.find("<html>") != std::string::npos);

  fx.hub.update_faults([](Faults& f) {
    f.html_error_pages = false;
    f.drop_error_code = true;
  });
  auto bare = hub.Get(("/" + k_llama + "/resolve/main/nope.json").c_str());
  REQUIRE(bare);
  CHECK(bare->status == 404);
  CHECK_FALSE(bare->has_header("X-Error-Code"));
}

TEST_CASE("redirect faults: a loop and a long chain") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  std::string path = "/" + k_llama + "/resolve/main/config.json";

  fx.hub.update_faults([](Faults& f) { f.redirect_loop = true; });
  std::string location = path;
  std::set<std::string> seen;
  for (int hop = 0; hop < 6; ++hop) {
    auto res = hub.Get(location.c_str());
    REQUIRE(res);
    REQUIRE(res->status == 307);
    location = res->get_header_value("Location");
    seen.insert(location);
  }
  CHECK(seen == std::set<std::string>{"/mock/loop/a", "/mock/loop/b"});

  fx.hub.update_faults([](Faults& f) {
    f.redirect_loop = false;
    f.redirect_hops = 12;
  });
  location = path;
  int hops = 0;
  while (true) {
    auto res = hub.Get(location.c_str());
    REQUIRE(res);
    if (res->status != 307 || res->get_header_value("Location").starts_with("/api/resolve-cache")) {
      break;
    }
    location = res->get_header_value("Location");
    ++hops;
    REQUIRE(hops < 30);
  }
  CHECK(hops == 13);  // resolve -> hop 1 .. hop 12 -> resolve again
}

TEST_CASE("signed CDN URLs expire and reject tampering") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  std::string path = "/" + k_qwen + "/resolve/main/model-00001-of-00004.safetensors";
  fx.hub.update_faults([](Faults& f) { f.cdn_expired_signatures = true; });
  auto stale = hub.Get(path.c_str());
  REQUIRE(stale);
  auto [origin, target] = split_url(stale->get_header_value("Location"));
  httplib::Client cdn(origin);
  auto expired = cdn.Get(target.c_str(), headers({{"Range", "bytes=0-7"}}));
  REQUIRE(expired);
  CHECK(expired->status == 403);
  CHECK(expired->body.find("Request has expired") != std::string::npos);

  fx.hub.update_faults([](Faults& f) { f.cdn_expired_signatures = false; });
  auto fresh = hub.Get(path.c_str());
  REQUIRE(fresh);
  std::string good = split_url(fresh->get_header_value("Location")).second;
  auto ok = cdn.Get(good.c_str(), headers({{"Range", "bytes=0-7"}}));
  REQUIRE(ok);
  CHECK(ok->status == 206);

  std::string tampered = good;
  tampered[tampered.find("X-Amz-Signature=") + 16] ^= 1;
  auto bad = cdn.Get(tampered.c_str(), headers({{"Range", "bytes=0-7"}}));
  REQUIRE(bad);
  CHECK(bad->status == 403);
}

TEST_CASE("the request log records what arrived") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  hub.Get(("/" + k_qwen + "/resolve/refs%2Fpr%2F1/config.json?x=1").c_str(),
          headers({{"Range", "bytes=0-7"},
                   {"Accept-Encoding", "identity"},
                   {"Authorization", "Bearer hf_valid_carol"},
                   {"User-Agent", "mock-test/1"}}));
  hub.Head(("/" + k_qwen + "/resolve/main/config.json").c_str());
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 2);
  CHECK(fx.hub.request_count() == 2);
  CHECK(log[0].method == "GET");
  CHECK(log[0].host == fx.hub.endpoint().substr(7));
  CHECK(log[0].path == "/" + k_qwen + "/resolve/refs%2Fpr%2F1/config.json");
  CHECK(log[0].query == "x=1");
  CHECK(log[0].range == "bytes=0-7");
  CHECK(log[0].accept_encoding == "identity");
  CHECK(log[0].user_agent == "mock-test/1");
  CHECK(log[0].authorization);
  CHECK(log[0].authorization_fingerprint ==
        mbuild::test::token_fingerprint("Bearer hf_valid_carol"));
  CHECK(log[0].status == 404);  // no refs/pr/1 in this repo
  CHECK(log[1].method == "HEAD");
  CHECK_FALSE(log[1].authorization);
  CHECK(log[1].status == 307);
  CHECK(mbuild::test::to_json_line(log[1]).find("\"status\":307") != std::string::npos);
  fx.hub.clear_requests();
  CHECK(fx.hub.request_count() == 0);
}

TEST_CASE("/api/models reports safetensors totals equal to the corpus truth") {
  MockHub hub;
  Json truth = Json::parse(slurp(corpus_dir() / "truth.json"));
  int checked = 0;
  for (const Json& entry : truth) {
    std::string folder = entry["folder"];
    if (folder != "Qwen__Qwen2.5-7B-Instruct" && folder != "meta-llama__Llama-3.2-1B-Instruct") {
      continue;
    }
    hub.add_repo(corpus_repo(corpus_dir() / folder));
    httplib::Client client(hub.endpoint());
    std::string id = entry["hf_id"];
    auto res = client.Get(("/api/models/" + id).c_str());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    Json info = Json::parse(res->body);
    CAPTURE(id);
    CHECK(info["id"] == id);
    CHECK(info["sha"] == hub.commit_of(id, "main"));
    CHECK(info["private"] == false);
    CHECK(info["gated"] == false);
    CHECK(info["safetensors"]["total"].get<std::uint64_t>() ==
          entry["raw_elements"].get<std::uint64_t>());
    std::uint64_t sum = 0;
    for (const auto& [dtype, n] : info["safetensors"]["parameters"].items()) {
      sum += n.get<std::uint64_t>();
    }
    CHECK(sum == entry["raw_elements"].get<std::uint64_t>());
    std::size_t shards = 0;
    for (const Json& s : info["siblings"]) {
      shards += s["rfilename"].get<std::string>().ends_with(".safetensors") ? 1u : 0u;
      CHECK(s["rfilename"] != "REPLICA.md");
    }
    CHECK(shards == entry["files"].get<std::size_t>());
    ++checked;
  }
  CHECK(checked == 2);

  httplib::Client client(hub.endpoint());
  auto blobs = client.Get(("/api/models/" + k_qwen + "/revision/main?blobs=true").c_str());
  REQUIRE(blobs);
  Json info = Json::parse(blobs->body);
  for (const Json& s : info["siblings"]) {
    std::string name = s["rfilename"];
    CHECK(s["size"].get<std::uint64_t>() == hub.served_size(k_qwen, name));
    if (name.ends_with(".safetensors")) {
      CHECK(s["lfs"]["size"] == s["size"]);
      CHECK(is_hex_of_length(s["lfs"]["sha256"], 64));
    } else {
      CHECK_FALSE(s.contains("lfs"));
    }
  }
  auto subset = client.Get(("/api/models/" + k_qwen + "?expand=safetensors").c_str());
  REQUIRE(subset);
  Json small = Json::parse(subset->body);
  CHECK(small.contains("safetensors"));
  CHECK_FALSE(small.contains("siblings"));
}

TEST_CASE("the tree listing pages with Link rel=next") {
  MockHub hub;
  RepoSpec spec = corpus_repo(corpus_dir() / "Qwen__Qwen2.5-7B-Instruct");
  spec.files["sub/dir/a.json"] = "{}";
  spec.files["sub/b.txt"] = "b";
  hub.add_repo(spec);
  hub.update_faults([](Faults& f) { f.tree_page_size = 2; });
  httplib::Client client(hub.endpoint());

  std::vector<std::string> paths;
  std::string url = hub.endpoint() + "/api/models/" + k_qwen + "/tree/main?recursive=true";
  int pages = 0;
  while (!url.empty()) {
    auto [origin, target] = split_url(url);
    CHECK(origin == hub.endpoint());
    auto res = client.Get(target.c_str());
    REQUIRE(res);
    REQUIRE(res->status == 200);
    Json page = Json::parse(res->body);
    CHECK(page.size() <= 2);
    for (const Json& e : page) {
      paths.push_back(e["path"]);
      if (e["type"] == "file" && e["path"].get<std::string>().ends_with(".safetensors")) {
        CHECK(e["lfs"]["size"] == e["size"]);
      }
    }
    url.clear();
    std::string link = res->get_header_value("Link");
    if (!link.empty()) {
      CHECK(link.ends_with("; rel=\"next\""));
      url = link.substr(1, link.find('>') - 1);
    }
    ++pages;
  }
  std::vector<std::string> expected = {"config.json",
                                       "model-00001-of-00004.safetensors",
                                       "model-00002-of-00004.safetensors",
                                       "model-00003-of-00004.safetensors",
                                       "model-00004-of-00004.safetensors",
                                       "model.safetensors.index.json",
                                       "sub",
                                       "sub/b.txt",
                                       "sub/dir",
                                       "sub/dir/a.json"};
  CHECK(paths == expected);
  CHECK(pages == 5);

  auto top = client.Get(("/api/models/" + k_qwen + "/tree/main/sub").c_str());
  auto encoded = client.Get(("/api/models/" + k_qwen + "/tree/main/sub%2Fdir").c_str());
  REQUIRE((top && encoded));
  Json top_json = Json::parse(top->body);
  REQUIRE(top_json.size() == 2);
  CHECK(top_json[0]["path"] == "sub/b.txt");
  CHECK(top_json[1]["type"] == "directory");
  CHECK(Json::parse(encoded->body)[0]["path"] == "sub/dir/a.json");
}

TEST_CASE("a renamed repo answers 307 to its new path for resolve and /api/models") {
  CorpusHub fx;
  RepoSpec old;
  old.id = "meta-llama/Llama-3.2-1B-Instruct-old";
  old.renamed_to = k_llama;
  fx.hub.add_repo(old);
  httplib::Client hub(fx.hub.endpoint());
  auto res = hub.Head("/meta-llama/Llama-3.2-1B-Instruct-old/resolve/main/config.json");
  REQUIRE(res);
  CHECK(res->status == 307);
  CHECK(res->get_header_value("Location") == "/" + k_llama + "/resolve/main/config.json");
  auto api = hub.Get("/api/models/meta-llama/Llama-3.2-1B-Instruct-old?blobs=true");
  REQUIRE(api);
  CHECK(api->status == 307);
  CHECK(api->get_header_value("Location") == "/api/models/" + k_llama + "?blobs=true");
  auto cased = hub.Head("/META-LLAMA/llama-3.2-1b-instruct/resolve/main/config.json");
  REQUIRE(cased);
  CHECK(cased->status == 307);
  CHECK(cased->get_header_value("Location") == "/" + k_llama + "/resolve/main/config.json");
}

TEST_CASE("raw serves LFS pointers and small files, and datasets have their own prefix") {
  MockHub hub;
  hub.add_repo(corpus_repo(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct"));
  RepoSpec data;
  data.id = "acme/data";
  data.type = RepoSpec::Type::dataset;
  data.files = {{"README.md", "hello"}};
  hub.add_repo(data);
  httplib::Client client(hub.endpoint());

  auto pointer = client.Get(("/" + k_llama + "/raw/main/model.safetensors").c_str());
  REQUIRE(pointer);
  CHECK(pointer->status == 200);
  CHECK(pointer->body.starts_with("version https://git-lfs.github.com/spec/v1\noid sha256:"));
  CHECK(pointer->body.find(fmt::format(
            "\nsize {}\n", *hub.served_size(k_llama, "model.safetensors"))) != std::string::npos);

  auto readme = client.Get("/datasets/acme/data/raw/main/README.md");
  REQUIRE(readme);
  CHECK(readme->body == "hello");
  auto resolved = client.Head("/datasets/acme/data/resolve/main/README.md");
  REQUIRE(resolved);
  CHECK(resolved->status == 307);
  CHECK(
      resolved->get_header_value("Location").starts_with("/api/resolve-cache/datasets/acme/data/"));
  auto as_model = client.Head("/acme/data/resolve/main/README.md");
  REQUIRE(as_model);
  CHECK(as_model->status == 401);
  auto info = client.Get("/api/datasets/acme/data");
  REQUIRE(info);
  CHECK(Json::parse(info->body)["id"] == "acme/data");
}

TEST_CASE("in-memory bad files are served as they are") {
  MockHub hub;
  const std::string header = R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
  RepoSpec spec;
  spec.id = "acme/bad";
  spec.files = {{"empty.safetensors", ""},
                {"short.safetensors", "abc"},
                {"ok.safetensors", safetensors_bytes(header)}};
  spec.sizes = {{"short.safetensors", 3}};
  hub.add_repo(spec);
  CHECK(hub.served_size("acme/bad", "ok.safetensors") == 8 + header.size() + 16);
  httplib::Client client(hub.endpoint());
  auto cdn_get = [&](const std::string& file, const std::string& range) {
    auto res = client.Get(("/acme/bad/resolve/main/" + file).c_str());
    REQUIRE(res);
    REQUIRE(res->status == 302);
    auto [origin, target] = split_url(res->get_header_value("Location"));
    httplib::Client cdn(origin);
    auto out = cdn.Get(target.c_str(), headers({{"Range", range}}));
    REQUIRE(out);
    return std::make_pair(out->status, out->body);
  };
  CHECK(cdn_get("empty.safetensors", "bytes=0-7").first == 416);
  auto short_file = cdn_get("short.safetensors", "bytes=0-7");
  CHECK(short_file.first == 206);
  CHECK(short_file.second == "abc");
  auto ok = cdn_get("ok.safetensors", "bytes=0-100000");
  CHECK(ok.first == 206);
  CHECK(ok.second.size() == 8 + header.size() + 16);

  auto info = client.Get("/api/models/acme/bad");
  REQUIRE(info);
  CHECK(Json::parse(info->body)["safetensors"]["total"] == 4);
}

TEST_CASE("a fault storm injects faults at the requested rate") {
  CorpusHub fx;
  httplib::Client hub(fx.hub.endpoint());
  fx.hub.update_faults([](Faults& f) {
    f.random_fault_rate = 0.5;
    f.random_seed = 42;
  });
  int faulted = 0;
  for (int i = 0; i < 60; ++i) {
    hub.Head(("/" + k_llama + "/resolve/main/config.json").c_str());
  }
  for (const auto& r : fx.hub.requests()) {
    faulted += r.fault.empty() ? 0 : 1;
    if (r.fault.starts_with("status_")) {
      CHECK(r.status == std::stoi(r.fault.substr(7)));
    }
  }
  CHECK(faulted > 10);
  CHECK(faulted < 50);
}

TEST_CASE("add_copy serves a repo again under another id, with its own CDN URLs") {
  CorpusHub fx;
  const std::string copy = "someone/llama-copy";
  fx.hub.add_copy(k_llama, copy);
  httplib::Client hub(fx.hub.endpoint());
  auto info = hub.Get(("/api/models/" + copy).c_str());
  REQUIRE(info);
  REQUIRE(info->status == 200);
  auto original = hub.Get(("/api/models/" + k_llama).c_str());
  REQUIRE(original);
  CHECK(Json::parse(info->body)["id"] == copy);
  CHECK(Json::parse(info->body)["siblings"] == Json::parse(original->body)["siblings"]);
  CHECK(fx.hub.served_size(copy, "model.safetensors") ==
        fx.hub.served_size(k_llama, "model.safetensors"));

  auto a = hub.Head(("/" + copy + "/resolve/main/model.safetensors").c_str());
  auto b = hub.Head(("/" + k_llama + "/resolve/main/model.safetensors").c_str());
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->status == 302);
  CHECK(a->get_header_value("X-Linked-Etag") == b->get_header_value("X-Linked-Etag"));
  auto [origin, target] = split_url(a->get_header_value("Location"));
  auto path_of = [](const std::string& t) { return t.substr(0, t.find('?')); };
  CHECK(path_of(target) != path_of(split_url(b->get_header_value("Location")).second));
  httplib::Client cdn(origin);
  auto bytes = cdn.Get(target.c_str(), headers({{"Range", "bytes=0-7"}}));
  REQUIRE(bytes);
  CHECK(bytes->status == 206);
  CHECK(bytes->body ==
        slurp(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/model.safetensors").substr(0, 8));
  CHECK_THROWS(fx.hub.add_copy("nobody/nothing", "someone/else"));
}

TEST_CASE("the storm's draw depends on the seed and the request, not on arrival order") {
  using mbuild::test::RandomFault;
  auto storm = [](std::uint64_t seed, bool reversed) {
    CorpusHub fx;
    fx.hub.update_faults([&](Faults& f) {
      f.random_fault_rate = 0.5;
      f.random_seed = seed;
      f.random_faults = {RandomFault::status_503};
    });
    httplib::Client hub(fx.hub.endpoint());
    std::map<std::string, std::vector<int>> statuses;  // path -> status per occurrence
    for (int pass = 0; pass < 2; ++pass) {
      for (int i = 0; i < 20; ++i) {
        int n = reversed ? 19 - i : i;
        std::string path = fmt::format("/{}/resolve/main/missing-{}.json", k_llama, n);
        auto res = hub.Head(path.c_str());
        REQUIRE(res);
        statuses[path].push_back(res->status);
      }
    }
    return statuses;
  };
  auto forward = storm(5, false);
  CHECK(storm(5, true) == forward);
  CHECK(storm(6, false) != forward);
  int faulted = 0;
  bool occurrences_differ = false;
  for (const auto& [path, seen] : forward) {
    REQUIRE(seen.size() == 2);
    for (int status : seen) {
      CHECK((status == 503 || status == 404));
      faulted += status == 503 ? 1 : 0;
    }
    occurrences_differ = occurrences_differ || seen[0] != seen[1];
  }
  CHECK(faulted > 5);
  CHECK(faulted < 35);
  CHECK(occurrences_differ);  // a retried request draws again
}

TEST_CASE("a reset closes the connection without a response") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.random_fault_rate = 1.0;
    f.random_faults = {mbuild::test::RandomFault::reset};
  });
  httplib::Client hub(fx.hub.endpoint());
  CHECK_FALSE(hub.Get(("/" + k_llama + "/resolve/main/config.json").c_str()));
  CHECK_FALSE(hub.Get(("/api/models/" + k_llama).c_str()));
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 2);
  for (const auto& r : log) {
    CHECK(r.fault == "reset");
    CHECK(r.status == 0);
  }
  // Requests outside the storm are answered.
  fx.hub.update_faults([](Faults& f) { f.random_fault_rate = 0; });
  auto ok = hub.Get(("/api/models/" + k_llama).c_str());
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("a stall keeps silent for random_stall, then answers") {
  using namespace std::chrono;
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.random_fault_rate = 1.0;
    f.random_faults = {mbuild::test::RandomFault::stall};
    f.random_stall = milliseconds(400);
  });
  std::string path = "/" + k_llama + "/resolve/main/config.json";
  httplib::Client patient(fx.hub.endpoint());
  auto t0 = steady_clock::now();
  auto res = patient.Head(path.c_str());
  REQUIRE(res);
  CHECK(res->status == 307);
  CHECK(steady_clock::now() - t0 >= milliseconds(400));

  httplib::Client impatient(fx.hub.endpoint());
  impatient.set_read_timeout(0, 100'000);
  CHECK_FALSE(impatient.Head(path.c_str()));
  auto log = fx.hub.requests();
  REQUIRE_FALSE(log.empty());
  CHECK(log.front().fault == "stall");
}

TEST_CASE("stall_mid_stream sends half the body, keeps silent, then closes") {
  using namespace std::chrono;
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.random_fault_rate = 1.0;
    f.random_faults = {mbuild::test::RandomFault::stall_mid_stream};
    f.random_stall = milliseconds(300);
  });
  httplib::Client hub(fx.hub.endpoint());
  // The 307 has no file body: the drawn fault cannot apply and is not recorded.
  auto redirect = hub.Get(("/" + k_llama + "/resolve/main/config.json").c_str());
  REQUIRE(redirect);
  REQUIRE(redirect->status == 307);
  std::string expected = slurp(corpus_dir() / "meta-llama__Llama-3.2-1B-Instruct/config.json");
  std::size_t received = 0;
  auto t0 = steady_clock::now();
  auto body =
      hub.Get(redirect->get_header_value("Location").c_str(), [&](const char*, std::size_t n) {
        received += n;
        return true;
      });
  CHECK_FALSE(body);
  CHECK(steady_clock::now() - t0 >= milliseconds(300));
  CHECK(received == expected.size() / 2);
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 2);
  CHECK(log[0].fault.empty());
  CHECK(log[1].fault == "stall_mid_stream");
}

TEST_CASE("a random redirect loop hits resolve only, and the loop's own hops are not faulted") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.random_fault_rate = 1.0;
    f.random_faults = {mbuild::test::RandomFault::redirect_loop};
  });
  httplib::Client hub(fx.hub.endpoint());
  auto first = hub.Get(("/" + k_llama + "/resolve/main/config.json").c_str());
  REQUIRE(first);
  CHECK(first->status == 307);
  CHECK(first->get_header_value("Location") == "/mock/loop/a");
  auto second = hub.Get("/mock/loop/a");
  REQUIRE(second);
  CHECK(second->get_header_value("Location") == "/mock/loop/b");
  auto info = hub.Get(("/api/models/" + k_llama).c_str());
  REQUIRE(info);
  CHECK(info->status == 200);
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 3);
  CHECK(log[0].fault == "redirect_loop");
  CHECK(log[1].fault.empty());
  CHECK(log[2].fault.empty());
}

TEST_CASE("a random ignore_range is recorded only on requests that carry a Range") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.random_fault_rate = 1.0;
    f.random_faults = {mbuild::test::RandomFault::ignore_range};
  });
  httplib::Client hub(fx.hub.endpoint());
  auto redirect = hub.Get(("/" + k_llama + "/resolve/main/config.json").c_str());
  REQUIRE(redirect);
  std::string location = redirect->get_header_value("Location");
  auto plain = hub.Get(location.c_str());
  REQUIRE(plain);
  CHECK(plain->status == 200);
  auto ranged = hub.Get(location.c_str(), headers({{"Range", "bytes=0-9"}}));
  REQUIRE(ranged);
  CHECK(ranged->status == 200);
  CHECK(ranged->body.size() > 10);
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 3);
  CHECK(log[0].fault.empty());
  CHECK(log[1].fault.empty());
  CHECK(log[2].fault == "ignore_range");
}

TEST_CASE("range_contains aims request-level faults at some Range headers only") {
  CorpusHub fx;
  fx.hub.update_faults([](Faults& f) {
    f.range_contains = "bytes=10-";
    f.ignore_range = true;
  });
  httplib::Client hub(fx.hub.endpoint());
  auto redirect = hub.Get(("/" + k_llama + "/resolve/main/config.json").c_str());
  REQUIRE(redirect);
  std::string location = redirect->get_header_value("Location");
  auto head = hub.Get(location.c_str(), headers({{"Range", "bytes=0-9"}}));
  auto tail = hub.Get(location.c_str(), headers({{"Range", "bytes=10-19"}}));
  REQUIRE(head);
  REQUIRE(tail);
  CHECK(head->status == 206);
  CHECK(tail->status == 200);
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 3);
  CHECK(log[1].fault.empty());
  CHECK(log[2].fault == "ignore_range");
}

TEST_CASE("all_random_faults names every kind once") {
  auto all = mbuild::test::all_random_faults();
  std::set<mbuild::test::RandomFault> unique(all.begin(), all.end());
  CHECK(unique.size() == all.size());
  CHECK(all.size() == 12);
}

TEST_CASE("latency, new-connection latency and stalls delay answers") {
  CorpusHub fx;
  using namespace std::chrono;
  fx.hub.update_faults([](Faults& f) {
    f.latency = milliseconds(50);
    f.new_connection_latency = milliseconds(100);
  });
  httplib::Client hub(fx.hub.endpoint());
  hub.set_keep_alive(true);
  std::string path = "/" + k_llama + "/resolve/main/config.json";
  auto t0 = steady_clock::now();
  REQUIRE(hub.Head(path.c_str()));
  auto t1 = steady_clock::now();
  REQUIRE(hub.Head(path.c_str()));
  auto t2 = steady_clock::now();
  CHECK(t1 - t0 >= milliseconds(150));
  CHECK(t2 - t1 >= milliseconds(50));
  auto log = fx.hub.requests();
  REQUIRE(log.size() == 2);
  CHECK(log[0].new_connection);
  CHECK_FALSE(log[1].new_connection);
  CHECK(log[0].remote_port == log[1].remote_port);

  fx.hub.update_faults([](Faults& f) {
    f.latency = milliseconds(0);
    f.new_connection_latency = milliseconds(0);
    f.stall = seconds(30);
  });
  httplib::Client impatient(fx.hub.endpoint());
  impatient.set_read_timeout(0, 300'000);
  CHECK_FALSE(impatient.Head(path.c_str()));
  // The destructor wakes the stalled handler instead of waiting 30 s.
}

TEST_CASE("200 concurrent requests are all answered, and stopping is prompt") {
  std::unique_ptr<httplib::Client> lingering;
  auto start = std::chrono::steady_clock::now();
  {
    CorpusHub fx;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 200; ++i) {
      threads.emplace_back([&, i] {
        httplib::Client client(fx.hub.endpoint());
        std::string file = fmt::format("model-0000{}-of-00004.safetensors", i % 4 + 1);
        auto res = client.Head(("/" + k_qwen + "/resolve/main/" + file).c_str());
        if (res && res->status == 302) {
          ++ok;
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    CHECK(ok == 200);
    CHECK(fx.hub.request_count() == 200);

    // An idle keep-alive connection that outlives the hub must not hold up the destructor.
    lingering = std::make_unique<httplib::Client>(fx.hub.endpoint());
    lingering->set_keep_alive(true);
    REQUIRE(lingering->Head(("/" + k_qwen + "/resolve/main/config.json").c_str()));
    start = std::chrono::steady_clock::now();
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
}
