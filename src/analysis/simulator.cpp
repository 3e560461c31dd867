#include "analysis/simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <list>
#include <queue>

namespace lk {

namespace {

// splitmix64: small, fast, and the same stream on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  double normal() {  // Box–Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

 private:
  uint64_t s_;
};

enum class Phase { kPending, kWaiting, kPrefill, kDecode, kThinking, kDone, kRejected };
enum class Where { kNone, kDevice, kHost, kMovingOut, kMovingIn };

struct Session {
  int device = -1;
  int64_t doc = 0;
  int round = 0;
  int64_t tokens = 0;        // cached tokens
  int64_t prefill_left = 0;  // this round's prompt tokens not yet prefilled
  int64_t gen_left = 0;
  Phase phase = Phase::kPending;
  Where where = Where::kNone;
  double reserved = 0;  // KV bytes held or reserved on the device
  double ready_t = 0, switch_start_t = -1, decode_start_t = 0;
  bool ttft_done = false;
  bool in_idle = false;
  std::list<int>::iterator idle_it;
};

struct Transfer {
  int session;
  bool out;
  double bytes;
};

struct Device {
  double budget = 0, used = 0, pending_free = 0;
  std::deque<int> waiting;
  std::vector<int> running;
  std::list<int> idle;  // resident thinking sessions, least recently used first
  bool stepping = false;
  std::vector<int> step_decode;
  std::vector<std::pair<int, int64_t>> step_prefill;
  std::deque<Transfer> link_q;
  bool link_busy = false;
  double flop_s = 0, bytes_s = 0, link_s = 0, mem_int = 0, mem_t = 0;
  int resident = 0;
};

enum class EventType { kReady, kStepDone, kTransferDone };

struct Event {
  double t;
  uint64_t seq;  // ties resolve in creation order: deterministic
  EventType type;
  int device;
  int session;
  bool operator>(const Event& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
    return v[std::min(v.size() - 1, i)];
  };
  p.p50 = rank(0.5);
  p.p99 = rank(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  p.max = v.back();
  return p;
}

Status validate(const SimConfig& c) {
  auto range = [](const char* field, double v, double lo, double hi) -> Status {
    if (!(v >= lo && v <= hi) || !std::isfinite(v))
      return invalid_argument("{} must be in [{:g}, {:g}] (got {:g})", field, lo, hi, v);
    return Status::ok();
  };
  LK_RETURN_IF_ERROR(range("--users", c.users, 1, 1e7));
  LK_RETURN_IF_ERROR(range("--devices", c.devices, 1, 1e5));
  LK_RETURN_IF_ERROR(range("--rounds", c.rounds, 1, 1000));
  LK_RETURN_IF_ERROR(range("--gen", static_cast<double>(c.gen_tokens), 1, 1e7));
  LK_RETURN_IF_ERROR(range("--question", static_cast<double>(c.question_tokens), 0, 1e9));
  LK_RETURN_IF_ERROR(range("--context", static_cast<double>(c.context_tokens), 1, 1e10));
  LK_RETURN_IF_ERROR(range("--chunk", static_cast<double>(c.chunk_tokens), 1, 1e9));
  LK_RETURN_IF_ERROR(range("--max-batch", c.max_batch, 1, 1e6));
  LK_RETURN_IF_ERROR(range("--think", c.think_s, 0, 1e7));
  if (c.arrival == ArrivalProcess::kPoisson)
    LK_RETURN_IF_ERROR(range("--rate", c.arrival_rate_per_h, 1e-6, 1e9));
  if (c.arrival == ArrivalProcess::kUniform)
    LK_RETURN_IF_ERROR(range("--window", c.arrival_window_s, 0, 1e9));
  if (c.length != LengthDistribution::kFixed) {
    LK_RETURN_IF_ERROR(range("--context-min", static_cast<double>(c.context_min), 1, 1e10));
    LK_RETURN_IF_ERROR(range("--context-max", static_cast<double>(c.context_max),
                             static_cast<double>(c.context_min), 1e10));
    LK_RETURN_IF_ERROR(range("--length-sigma", c.length_sigma, 0, 10));
  }
  // Model, deployment and plan: the analyzer's own checks.
  Workload w;
  w.context_tokens = c.context_tokens;
  w.question_tokens = c.question_tokens;
  w.gen_tokens = c.gen_tokens;
  w.rounds = c.rounds;
  w.think_s = c.think_s;
  auto r = analyze_point(c.model, c.deploy, w, c.plan);
  return r.status();
}

class Simulation {
 public:
  explicit Simulation(const SimConfig& c) : c_(c), rng_(c.seed) {
    kvpt_ = kv_bytes_per_token(c.model, c.deploy.kv_bits);
    d_attn_ = attention_width(c.model, c.deploy);
    flops_ = c.deploy.flops();
    bw_ = c.deploy.bw();
    link_ = c.deploy.link();
    const double budget = c.deploy.mem() - weight_bytes(c.model, c.deploy.weight_bits);
    devs_.resize(static_cast<size_t>(c.devices));
    for (auto& d : devs_) d.budget = std::max(0.0, budget);
    res_.kv_budget_bytes = std::max(0.0, budget);
    sessions_.resize(static_cast<size_t>(c.users));
  }

  SimResult run() {
    draw_arrivals();
    std::vector<int> touched;
    while (!events_.empty()) {
      // Everything that happens at one instant lands before the scheduler looks: users
      // arriving together are admitted and batched together.
      now_ = events_.top().t;
      touched.clear();
      while (!events_.empty() && events_.top().t == now_) {
        const Event e = events_.top();
        events_.pop();
        switch (e.type) {
          case EventType::kReady:
            on_ready(e.session);
            break;
          case EventType::kStepDone:
            on_step_done(e.device);
            break;
          case EventType::kTransferDone:
            on_transfer_done(e.device);
            break;
        }
        const int dev = e.device >= 0 ? e.device : sessions_[static_cast<size_t>(e.session)].device;
        if (std::find(touched.begin(), touched.end(), dev) == touched.end()) touched.push_back(dev);
      }
      for (int dev : touched) {
        admit(dev);
        start_transfer(dev);
        start_step(dev);
      }
      sample();
    }
    return finish();
  }

 private:
  double kv(double tokens) const {
    return kvpt_ * tokens * c_.plan.memory_factor(static_cast<int64_t>(tokens), c_.deploy.kv_bits);
  }
  double kv_read(double tokens) const {
    return kvpt_ * tokens * c_.plan.read_factor(static_cast<int64_t>(tokens), c_.deploy.kv_bits);
  }

  void push(double t, EventType type, int device, int session) {
    events_.push({t, seq_++, type, device, session});
  }

  void draw_arrivals() {
    double t = 0;
    for (int i = 0; i < c_.users; ++i) {
      Session& s = sessions_[static_cast<size_t>(i)];
      switch (c_.arrival) {
        case ArrivalProcess::kAllAtOnce:
          t = 0;
          break;
        case ArrivalProcess::kPoisson:
          t += rng_.exponential(3600.0 / c_.arrival_rate_per_h);
          break;
        case ArrivalProcess::kUniform:
          t = rng_.uniform() * c_.arrival_window_s;
          break;
      }
      switch (c_.length) {
        case LengthDistribution::kFixed:
          s.doc = c_.context_tokens;
          break;
        case LengthDistribution::kUniform:
          s.doc = c_.context_min +
                  static_cast<int64_t>(rng_.uniform() *
                                       static_cast<double>(c_.context_max - c_.context_min + 1));
          break;
        case LengthDistribution::kLogNormal: {
          const double v =
              static_cast<double>(c_.context_tokens) * std::exp(c_.length_sigma * rng_.normal());
          s.doc = std::clamp(static_cast<int64_t>(std::llround(v)), c_.context_min, c_.context_max);
          break;
        }
      }
      push(t, EventType::kReady, -1, i);
    }
  }

  void mem_touch(Device& d) {
    d.mem_int += d.used * (now_ - d.mem_t);
    d.mem_t = now_;
  }

  int pick_device() const {
    int best = 0;
    size_t best_load = SIZE_MAX;
    for (size_t i = 0; i < devs_.size(); ++i) {
      const Device& d = devs_[i];
      const size_t load = d.waiting.size() + d.running.size() + d.idle.size();
      if (load < best_load) best = static_cast<int>(i), best_load = load;
    }
    return best;
  }

  void on_ready(int id) {
    Session& s = sessions_[static_cast<size_t>(id)];
    if (s.round == 0) {
      s.device = pick_device();
      s.prefill_left = s.doc;
    } else {
      s.prefill_left = c_.question_tokens;
    }
    s.gen_left = c_.gen_tokens;
    s.phase = Phase::kWaiting;
    s.ready_t = now_;
    s.switch_start_t = -1;
    s.ttft_done = false;
    Device& d = devs_[static_cast<size_t>(s.device)];
    if (s.in_idle) {  // its user is back: no longer a candidate for eviction
      d.idle.erase(s.idle_it);
      s.in_idle = false;
    }
    d.waiting.push_back(id);
  }

  void offload(Device& d, int id) {
    Session& v = sessions_[static_cast<size_t>(id)];
    v.where = Where::kMovingOut;
    d.pending_free += v.reserved;
    d.link_q.push_back({id, true, v.reserved});
  }

  void begin_running(Device& d, int id) {
    Session& s = sessions_[static_cast<size_t>(id)];
    s.where = Where::kDevice;
    if (s.switch_start_t >= 0) switch_.push_back(now_ - s.switch_start_t);
    s.phase = s.prefill_left > 0 ? Phase::kPrefill : Phase::kDecode;
    if (s.phase == Phase::kDecode) s.decode_start_t = now_;
    d.running.push_back(id);
    res_.max_running = std::max(res_.max_running, static_cast<int>(d.running.size()));
  }

  // Refuses a session that cannot fit the budget even alone (admission control).
  void reject(Device& d, Session& s) {
    mem_touch(d);
    if (s.where == Where::kDevice) d.used -= s.reserved, --d.resident;
    s.reserved = 0;
    s.phase = Phase::kRejected;
    ++res_.sessions_rejected;
  }

  // Grants `need` bytes to a waiting session (its KV may already be resident) and starts
  // it, or starts fetching it back from the host.
  void grant(Device& d, int id, double need) {
    Session& s = sessions_[static_cast<size_t>(id)];
    mem_touch(d);
    d.used += need - (s.where == Where::kDevice ? s.reserved : 0.0);
    if (s.where != Where::kDevice) ++d.resident;
    s.reserved = need;
    res_.max_resident = std::max(res_.max_resident, d.resident);
    queue_.push_back((s.switch_start_t >= 0 ? s.switch_start_t : now_) - s.ready_t);
    if (s.where == Where::kHost) {
      if (s.switch_start_t < 0) s.switch_start_t = now_;
      s.where = Where::kMovingIn;
      d.link_q.push_back({id, false, kv(static_cast<double>(s.tokens))});
      return;
    }
    begin_running(d, id);
  }

  double need_of(const Session& s) const {
    return kv(static_cast<double>(s.tokens + s.prefill_left + s.gen_left));
  }

  void admit(int dev) {
    Device& d = devs_[static_cast<size_t>(dev)];
    // Returning users whose KV is still resident go first: they need no transfer.
    for (auto it = d.waiting.begin(); it != d.waiting.end();) {
      if (static_cast<int>(d.running.size()) >= c_.max_batch) return;
      Session& s = sessions_[static_cast<size_t>(*it)];
      const double need = need_of(s);
      if (s.where == Where::kDevice && need > d.budget) {
        reject(d, s);
        it = d.waiting.erase(it);
      } else if (s.where == Where::kDevice && need - s.reserved <= d.budget - d.used + 1e-6) {
        const int id = *it;
        it = d.waiting.erase(it);
        grant(d, id, need);
      } else {
        ++it;
      }
    }
    // Then first come, first served.
    while (!d.waiting.empty() && static_cast<int>(d.running.size()) < c_.max_batch) {
      const int id = d.waiting.front();
      Session& s = sessions_[static_cast<size_t>(id)];
      const double need = need_of(s);
      if (need > d.budget) {
        d.waiting.pop_front();
        reject(d, s);
        continue;
      }
      if (s.where == Where::kMovingOut) break;  // wait for its own offload to land
      const double extra = need - (s.where == Where::kDevice ? s.reserved : 0.0);
      const double free = d.budget - d.used;
      if (extra <= free + 1e-6) {
        d.waiting.pop_front();
        grant(d, id, need);
        continue;
      }
      // Not enough room: offload idle sessions, least recently used first; if the device
      // would otherwise sit still, also waiting sessions that hold memory (newest first).
      bool started = false;
      while (free + d.pending_free < extra - 1e-6 && !d.idle.empty()) {
        const int victim = d.idle.front();
        d.idle.pop_front();
        sessions_[static_cast<size_t>(victim)].in_idle = false;
        offload(d, victim);
        started = true;
      }
      const bool stalled = d.running.empty() && d.link_q.empty() && !d.link_busy;
      for (auto it = d.waiting.rbegin();
           stalled && free + d.pending_free < extra - 1e-6 && it != d.waiting.rend(); ++it) {
        Session& v = sessions_[static_cast<size_t>(*it)];
        if (*it == id || v.where != Where::kDevice) continue;
        offload(d, *it);
        started = true;
      }
      if (started && s.switch_start_t < 0) s.switch_start_t = now_;
      break;  // FIFO: later questions wait behind this one
    }
  }

  void start_transfer(int dev) {
    Device& d = devs_[static_cast<size_t>(dev)];
    if (d.link_busy || d.link_q.empty()) return;
    const Transfer& t = d.link_q.front();
    const double dt = t.bytes / link_;
    d.link_busy = true;
    d.link_s += dt;
    push(now_ + dt, EventType::kTransferDone, dev, t.session);
  }

  void on_transfer_done(int dev) {
    Device& d = devs_[static_cast<size_t>(dev)];
    const Transfer t = d.link_q.front();
    d.link_q.pop_front();
    d.link_busy = false;
    Session& s = sessions_[static_cast<size_t>(t.session)];
    swapped_bytes_ += t.bytes;
    if (t.out) {
      ++res_.swaps_out;
      mem_touch(d);
      d.used -= s.reserved;
      d.pending_free -= s.reserved;
      --d.resident;
      s.reserved = 0;
      s.where = Where::kHost;
    } else {
      ++res_.swaps_in;
      begin_running(d, t.session);
    }
  }

  void start_step(int dev) {
    Device& d = devs_[static_cast<size_t>(dev)];
    if (d.stepping || d.running.empty()) return;
    d.step_decode.clear();
    d.step_prefill.clear();
    int64_t budget = c_.chunk_tokens;
    double flop = 0, kv_bytes = 0, tokens = 0;
    for (int id : d.running) {
      const Session& s = sessions_[static_cast<size_t>(id)];
      if (s.phase == Phase::kDecode) {
        d.step_decode.push_back(id);
        flop += decode_flop_per_token(c_.model, d_attn_, static_cast<double>(s.tokens));
        kv_bytes += kv_read(static_cast<double>(s.tokens));
        tokens += 1;
      } else if (s.phase == Phase::kPrefill && budget > 0) {
        const int64_t chunk = std::min(budget, s.prefill_left);
        budget -= chunk;
        d.step_prefill.push_back({id, chunk});
        flop += prefill_flop(c_.model, d_attn_, static_cast<double>(chunk),
                             static_cast<double>(s.tokens), c_.plan.prefill_attention_factor());
        kv_bytes += kv_read(static_cast<double>(s.tokens));
        tokens += static_cast<double>(chunk);
      }
    }
    if (tokens == 0) return;
    const double bytes = weight_bytes_read(c_.model, c_.deploy.weight_bits, tokens) + kv_bytes;
    const double dt = std::max(flop / flops_, bytes / bw_);
    d.flop_s += flop / flops_;
    d.bytes_s += bytes / bw_;
    d.stepping = true;
    ++res_.steps;
    push(now_ + dt, EventType::kStepDone, dev, -1);
  }

  void on_step_done(int dev) {
    Device& d = devs_[static_cast<size_t>(dev)];
    d.stepping = false;
    for (const auto& [id, chunk] : d.step_prefill) {
      Session& s = sessions_[static_cast<size_t>(id)];
      s.tokens += chunk;
      s.prefill_left -= chunk;
      if (s.prefill_left == 0) {
        s.phase = Phase::kDecode;
        s.decode_start_t = now_;
        ttft_.push_back(now_ - s.ready_t);
        s.ttft_done = true;
      }
    }
    bool ended = false;
    for (int id : d.step_decode) {
      Session& s = sessions_[static_cast<size_t>(id)];
      s.tokens += 1;
      s.gen_left -= 1;
      if (!s.ttft_done) {
        ttft_.push_back(now_ - s.ready_t);
        s.ttft_done = true;
      }
      if (s.gen_left == 0) {
        end_round(d, id);
        ended = true;
      }
    }
    if (ended) {
      d.running.erase(std::remove_if(d.running.begin(), d.running.end(),
                                     [&](int id) {
                                       const Phase p = sessions_[static_cast<size_t>(id)].phase;
                                       return p != Phase::kPrefill && p != Phase::kDecode;
                                     }),
                      d.running.end());
    }
  }

  void end_round(Device& d, int id) {
    Session& s = sessions_[static_cast<size_t>(id)];
    tpot_.push_back((now_ - s.decode_start_t) / static_cast<double>(c_.gen_tokens));
    ++s.round;
    if (s.round >= c_.rounds) {
      s.phase = Phase::kDone;
      mem_touch(d);
      d.used -= s.reserved;
      --d.resident;
      s.reserved = 0;
      s.where = Where::kNone;
      ++res_.sessions_completed;
      res_.makespan_s = now_;
      return;
    }
    s.phase = Phase::kThinking;
    const double think = c_.think_exponential ? rng_.exponential(c_.think_s) : c_.think_s;
    push(now_ + think, EventType::kReady, -1, id);
    if (c_.swap == SwapPolicy::kEager) {
      offload(d, id);
    } else {
      d.idle.push_back(id);
      s.idle_it = std::prev(d.idle.end());
      s.in_idle = true;
    }
  }

  void sample() {
    if (c_.timeline_points == 0 || now_ < next_sample_t_) return;
    TimelineSample t;
    t.t = now_;
    for (const auto& d : devs_) {
      t.kv_bytes += d.used;
      t.running += static_cast<int>(d.running.size());
      t.waiting += static_cast<int>(d.waiting.size());
      t.resident_idle += static_cast<int>(d.idle.size());
    }
    t.swapped_bytes = swapped_bytes_;
    res_.timeline.push_back(t);
    next_sample_t_ = now_ + sample_dt_;
    if (res_.timeline.size() >= 2 * c_.timeline_points) {  // keep every other, sample half as often
      std::vector<TimelineSample> kept;
      for (size_t i = 0; i < res_.timeline.size(); i += 2) kept.push_back(res_.timeline[i]);
      res_.timeline.swap(kept);
      sample_dt_ *= 2;
    }
  }

  SimResult finish() {
    const double T = res_.makespan_s;
    const double n = static_cast<double>(devs_.size());
    if (T > 0) {
      res_.sessions_per_hour = res_.sessions_completed * 3600.0 / T;
      double flop_s = 0, bytes_s = 0, link_s = 0, mem = 0;
      for (auto& d : devs_) {
        now_ = std::max(now_, d.mem_t);
        mem_touch(d);
        flop_s += d.flop_s;
        bytes_s += d.bytes_s;
        link_s += d.link_s;
        mem += d.mem_int;
      }
      res_.util_compute = flop_s / (T * n);
      res_.util_bandwidth = bytes_s / (T * n);
      res_.util_link = link_s / (T * n);
      const double weights = weight_bytes(c_.model, c_.deploy.weight_bits);
      res_.util_memory = (weights * T * n + mem) / (c_.deploy.mem() * T * n);
    }
    res_.ttft_s = percentiles(std::move(ttft_));
    res_.tpot_s = percentiles(std::move(tpot_));
    res_.switch_s = percentiles(std::move(switch_));
    res_.queue_s = percentiles(std::move(queue_));
    res_.bytes_swapped = swapped_bytes_;
    return res_;
  }

  const SimConfig& c_;
  Rng rng_;
  double kvpt_ = 0, d_attn_ = 0, flops_ = 0, bw_ = 0, link_ = 0;
  std::vector<Device> devs_;
  std::vector<Session> sessions_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t seq_ = 0;
  double now_ = 0;
  double swapped_bytes_ = 0;
  double next_sample_t_ = 0, sample_dt_ = 0.01;
  std::vector<double> ttft_, tpot_, switch_, queue_;
  SimResult res_;
};

}  // namespace

Result<SimResult> simulate(const SimConfig& config) {
  LK_RETURN_IF_ERROR(validate(config));
  Simulation sim(config);
  return sim.run();
}

}  // namespace lk
