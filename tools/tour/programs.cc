// The tour's last part: the tutorials' small programs — parallel downloads with errors and a
// timeout, and a concurrent file processor.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "cf/futures.h"
#include "cf/tools/progress/progress_bar.h"
#include "tools/tour/tour.h"

namespace cf::tour {
namespace {

// seed 000: "Parallel Downloads"; seed 001: "Web Scraping with Concurrency" — no network here,
// so Fetch simulates one (sizes, delays and failures are part of the URL's story).
struct Page {
  std::string url;
  int status = 0;
  int64_t size = 0;
  double seconds = 0;
};

// A URL "delay/N" with N above 10 is slower than the section's patience: its fetch answers only
// when `slow_gate` opens.
Page Fetch(const std::string& url, Gate* slow_gate) {
  Stopwatch clock;
  if (url.find("delay/") != std::string::npos) {
    const double seconds = std::stod(url.substr(url.rfind('/') + 1));
    if (seconds > 10) {
      slow_gate->Pass();
    } else {
      SleepTutorialSeconds(seconds);
    }
  } else {
    SleepTutorialSeconds(0.3);
  }
  if (url.find("status/404") != std::string::npos) {
    throw std::runtime_error("HTTP Error 404: NOT FOUND");
  }
  const int64_t size = 1000 + static_cast<int64_t>(std::hash<std::string>()(url) % 90000);
  return {url, 200, size, clock.Seconds()};
}

void Downloads() {
  const std::vector<std::string> urls = {
      "https://example.org/python", "https://example.org/github", "https://example.org/delay/1",
      "https://example.org/status/404", "https://example.org/delay/30"};
  Stopwatch clock;
  Gate gate;
  ThreadPoolExecutor pool(4);
  absl::Cleanup open_gate = [&gate] { gate.Open(); };
  absl::flat_hash_map<Future<Page>, std::string> future_to_url;
  for (const std::string& url : urls) future_to_url[pool.Submit(&Fetch, url, &gate)] = url;
  int ok = 0, failed = 0;
  try {
    for (const auto& f : AsCompleted(future_to_url, TutorialSeconds(10))) {
      try {
        const Page& page = f.Result();
        Say("OK: %s - %d bytes (%.2fs)", page.url, page.size, page.seconds);
        ++ok;
      } catch (const std::exception& e) {
        Say("FAILED: %s - %s", future_to_url.at(f), e.what());
        ++failed;
      }
    }
  } catch (const TimeoutError& e) {
    Say("gave up waiting: %s", e.what());
  }
  Say("total time: %.0f ms (10 tutorial seconds = %.0f ms allowed)", clock.Millis(),
      absl::ToDoubleMilliseconds(TutorialSeconds(10)));
  gate.Open();
  Check(ok == 3 && failed == 1, "3 pages, 1 error, 1 too slow");
  Notice("one slow or failing URL does not hold up the others: errors arrive as exceptions in "
         "their futures and the overall timeout bounds the wait.");
}

// seed 001: "Building a Concurrent File Processor".
struct FileStats {
  std::string file;
  int64_t lines = 0, words = 0, chars = 0;
};

FileStats ProcessFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  FileStats stats{.file = path.filename().string(),
                  .chars = static_cast<int64_t>(content.size())};
  stats.lines = std::count(content.begin(), content.end(), '\n');
  for (absl::string_view w : absl::StrSplit(content, absl::ByAnyChar(" \n\t"), absl::SkipEmpty())) {
    (void)w;
    ++stats.words;
  }
  return stats;
}

void FileProcessor() {
  char dir_template[] = "/tmp/cf_tour_files_XXXXXX";
  Check(mkdtemp(dir_template) != nullptr, "a temporary directory");
  const std::filesystem::path dir(dir_template);
  for (int i = 1; i <= 6; ++i) {
    std::ofstream out(dir / absl::StrFormat("notes_%d.txt", i));
    for (int line = 0; line < i * 10; ++line) out << "line " << line << " of file " << i << "\n";
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  files.push_back(dir / "missing.txt");  // to show the error path

  ThreadPoolExecutor pool(4);
  absl::flat_hash_map<Future<FileStats>, std::filesystem::path> future_to_file;
  for (const auto& path : files) future_to_file[pool.Submit(&ProcessFile, path)] = path;
  int64_t total_lines = 0, total_words = 0, errors = 0;
  for (const auto& f : AsCompleted(future_to_file, kBound)) {
    try {
      const FileStats& s = f.Result();
      Say("%s: %d lines, %d words", s.file, s.lines, s.words);
      total_lines += s.lines;
      total_words += s.words;
    } catch (const std::exception& e) {
      Say("%s: %s", future_to_file.at(f).filename().string(), e.what());
      ++errors;
    }
  }
  std::filesystem::remove_all(dir);
  Say("summary: %d files, %d lines, %d words, %d error", files.size() - errors, total_lines,
      total_words, errors);
  Check(total_lines == 210 && total_words == 1050 && errors == 1, "the totals");
  Notice("file I/O overlaps on threads; each file's statistics or error comes back in its own "
         "future, handled in completion order.");
}

}  // namespace

std::vector<Section> ProgramsSections() {
  return {
      {"downloads", "program: parallel downloads with errors and a timeout", Downloads},
      {"file_processor", "program: a concurrent file processor", FileProcessor},
  };
}

}  // namespace cf::tour
