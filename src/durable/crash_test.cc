// Crash tests of the durable layer with a real writer process (crash_writer.cc) under
// continuous load: SIGKILL at random points, kills at exact system calls (strace's fault
// injection) around fdatasync, fsync, rename and the log's truncation, and a full disk (a
// small tmpfs). After each crash the app is reopened and checked against the writes the
// writer acknowledged: every one is there (or a later write of the same thread to the same
// cell, which was then durable too), no cell holds a value nobody wrote, and the audit chain
// verifies.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "durable/durable_app.h"
#include "durable/durable_testutil.h"

namespace quantatom::durable {
namespace {

constexpr int kThreads = 4;
constexpr long long kRound = 10'000'000;  // each run's values start at round * kRound

struct WriterRun {
  std::vector<long long> acked;  // values acknowledged, in the order printed
  std::string stopped;           // the writer's "stopped:" line, if any
  int status = 0;                // waitpid status
};

// Starts the writer (optionally under `prefix`, e.g. strace), lets it run until `kill_after`
// (if not zero; counted from its first acknowledged write when `after_first_ack`, else from the
// start) or until it exits, and collects what it acknowledged.
WriterRun RunWriter(const std::string& dir, long long start, std::vector<std::string> prefix,
                    std::chrono::milliseconds kill_after, std::chrono::milliseconds limit = std::chrono::seconds(20),
                    bool after_first_ack = false) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  std::vector<std::string> args = std::move(prefix);
  // QA_CRASH_WRITER_BIN: a copy of the writer set aside, so that a long run is not disturbed by
  // a rebuild of the one in the build folder.
  const char* writer = std::getenv("QA_CRASH_WRITER_BIN");
  args.insert(args.end(), {writer ? writer : QA_CRASH_WRITER, dir, std::to_string(start), std::to_string(kThreads)});
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 2);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  WriterRun run;
  std::string buf;
  const auto begin = std::chrono::steady_clock::now();
  bool killed = false;
  auto drain = [&] {
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(fds[0], chunk, sizeof chunk)) > 0) buf.append(chunk, static_cast<size_t>(n));
    return n == 0;  // end of file
  };
  auto from = begin;
  bool waiting_for_ack = after_first_ack;
  while (true) {
    const bool eof = drain();
    if (eof) break;
    const auto now = std::chrono::steady_clock::now();
    if (waiting_for_ack && buf.find('\n') != std::string::npos) {
      waiting_for_ack = false;
      from = now;
    }
    if (!killed && ((kill_after.count() > 0 && !waiting_for_ack && now - from >= kill_after) || now - begin >= limit)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::waitpid(pid, &run.status, 0);
  ::close(fds[0]);
  size_t pos = 0;
  while (true) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos) break;  // a partial last line was never a whole ack
    std::string line = buf.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("stopped:", 0) == 0) run.stopped = line;
    else run.acked.push_back(std::stoll(line));
  }
  return run;
}

// What the acknowledged writes imply, cell by cell: the last value acknowledged.
struct Expectation {
  std::map<int, long long> last_acked;  // cell -> value
  void Add(const WriterRun& run) {
    for (long long v : run.acked) {
      const int cell = static_cast<int>((v % kRound) % 256);
      long long& slot = last_acked[cell];
      slot = std::max(slot, v);  // a thread's values grow, and a cell belongs to one thread
    }
  }
};

// Opens the app (recovering it) and checks it against `expect`; returns the number of cells.
void CheckRecovered(const std::string& dir, const Expectation& expect, long long max_start, const std::string& what) {
  auto app = DurableApp::Open(DataFolder(dir), "c");
  ASSERT_TRUE(app.ok()) << what << ": " << app.status();
  const Cube& cube = (*app)->cube();
  std::map<int, long long> found;
  for (int cell = 0; cell < 256; ++cell) {
    CellValue v = *cube.ReadCell(testing_util::Leaf(cube, cell / 4, cell % 4));
    if (v.is_number()) found[cell] = static_cast<long long>(v.number);
  }
  for (const auto& [cell, value] : expect.last_acked) {
    ASSERT_TRUE(found.count(cell)) << what << ": acknowledged write of " << value << " to cell " << cell << " is lost";
    ASSERT_GE(found[cell], value) << what << ": cell " << cell << " went back to an older value";
  }
  for (const auto& [cell, value] : found) {
    ASSERT_EQ((value % kRound) % 256, cell) << what << ": cell " << cell << " holds " << value << ", never written there";
    ASSERT_LT(value, max_start + kRound) << what;
  }
  auto verified = (*app)->Verify();
  ASSERT_TRUE(verified.ok()) << what << ": " << verified.status();
  // A snapshot cut short by the crash leaves its temporary file; the open removes it.
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/apps"))
    ASSERT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << what << ": " << entry.path();
}

std::string NewApp(const std::string& name) {
  const std::string dir = testing_util::FreshDir(name);
  auto app = DurableApp::Create(DataFolder(dir), testing_util::SmallApp("c", 64), "setup", false);
  EXPECT_TRUE(app.ok()) << app.status();
  return dir;
}

// >= 100 SIGKILLs at random points (startup and recovery included) of a writer with 4 threads
// under continuous load. QA_CRASH_KILLS sets the count for a longer run (and
// QA_CRASH_WRITER_BIN the writer binary to run).
TEST(CrashTest, RandomKillsLoseNoAcknowledgedWrite) {
  const std::string dir = NewApp("kills");
  const char* env = std::getenv("QA_CRASH_KILLS");
  const int kills = env ? std::atoi(env) : 100;
  std::mt19937_64 rng(env ? std::random_device{}() : 7);
  Expectation expect;
  size_t acked = 0;
  for (int round = 1; round <= kills; ++round) {
    const long long start = round * kRound;
    // One kill in five at a random point of the start (loading, replay, cutting a torn tail),
    // the others at a random point under load (0-60 ms after the first acknowledged write).
    const bool in_start = rng() % 5 == 0;
    const auto after = std::chrono::milliseconds(1 + rng() % (in_start ? 40 : 60));
    WriterRun run = RunWriter(dir, start, {}, after, std::chrono::seconds(20), !in_start);
    ASSERT_TRUE(WIFSIGNALED(run.status)) << "round " << round << ": the writer was not killed, " << run.stopped;
    expect.Add(run);
    acked += run.acked.size();
    CheckRecovered(dir, expect, start, "after kill " + std::to_string(round));
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(acked, static_cast<size_t>(kills) * 10);  // the kills did land under load
  std::printf("%d kills, %zu acknowledged writes, all recovered\n", kills, acked);
}

bool HaveStrace() { return std::system("strace -V >/dev/null 2>&1") == 0; }

// Kills at exact system calls: the Nth fdatasync (log batches, audit appends), fsync (the
// snapshot file and the folder), rename (the snapshot) and ftruncate (the log emptied after a
// checkpoint), through strace's fault injection.
TEST(CrashTest, KillsAtExactSyscallsAroundSyncAndRename) {
  if (!HaveStrace()) GTEST_SKIP() << "strace is not installed (scripts/install-deps.sh installs it)";
  const std::string dir = NewApp("syscalls");
  Expectation expect;
  long long round = 0;
  int killed_at_call = 0;
  const std::vector<std::pair<std::string, std::vector<int>>> plan = {
      {"fdatasync", {1, 2, 3, 5, 8, 13, 30, 60}},
      {"fsync", {1, 2, 3, 4, 6}},
      {"rename", {1, 2, 3}},
      {"ftruncate", {1, 2}},
  };
  for (const auto& [call, whens] : plan)
    for (int when : whens) {
      ++round;
      const long long start = round * kRound;
      WriterRun run = RunWriter(dir, start,
                          {"strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + call,
                           "-e", "inject=" + call + ":signal=KILL:when=" + std::to_string(when)},
                          std::chrono::milliseconds(0), std::chrono::seconds(10));
      if (WIFSIGNALED(run.status) || (WIFEXITED(run.status) && WEXITSTATUS(run.status) == 128 + SIGKILL))
        ++killed_at_call;
      expect.Add(run);
      CheckRecovered(dir, expect, start, call + " #" + std::to_string(when));
      if (HasFatalFailure()) return;
    }
  // Each run either died at its system call or ran into the 10 s limit; most must be the former.
  EXPECT_GE(killed_at_call, 14) << "strace did not kill the writer at its system calls";
}

// A full disk: the data folder on a 2 MiB tmpfs. The writer runs until a write fails; it must
// say why, nothing after the failure is acknowledged, and everything acknowledged is there.
TEST(CrashTest, DiskFullOnSmallTmpfsLosesNothingAcknowledged) {
  const std::string mnt = testing_util::FreshDir("tmpfs");
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); DurableAppTest.InjectedDiskFullStopsWritesAndLosesNothingAcknowledged covers ENOSPC by injection";
  const std::string dir = mnt + "/data";
  {
    auto app = DurableApp::Create(DataFolder(dir), testing_util::SmallApp("c", 64), "setup", false);
    ASSERT_TRUE(app.ok()) << app.status();
  }
  WriterRun run = RunWriter(dir, kRound, {}, std::chrono::milliseconds(0), std::chrono::seconds(60));
  Expectation expect;
  expect.Add(run);
  EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 2) << "the writer did not stop on its own";
  EXPECT_NE(run.stopped.find("stopped taking writes"), std::string::npos) << run.stopped;
  EXPECT_TRUE(run.stopped.find("No space left on device") != std::string::npos ||
              run.stopped.find("the disk is full") != std::string::npos)
      << run.stopped;
  EXPECT_GT(run.acked.size(), 100u);
  CheckRecovered(dir, expect, kRound, "after the disk filled");
  ::umount(mnt.c_str());
}

}  // namespace
}  // namespace quantatom::durable
