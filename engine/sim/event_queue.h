// The engine's event heap: events ordered by time, ties broken by scheduling order (FIFO), so a
// run is deterministic. Both clocks drain this one heap: the virtual clock as fast as it can, the
// live clock paced to wall time by a single timer (docs/DESIGN.md §3).
#pragma once
#include "base/time.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace knee {

enum class EventType : std::uint8_t {
    Arrival,         // arg: closed-loop user index, or kOpenLoopSource
    PreprocessDone,  // arg: request index
    PredictDone,     // arg: request index (an independent call of one request, timed without a call record)
    PostprocessDone, // arg: request index
    ReplicaReady,    // arg: replica index
    KnobChange,      // arg: index into the scenario's changes
    AutoscalerTick,  // the autoscaler's periodic evaluation
    CallDone,        // arg: predict call index (a single request, a dynamic batch or a decode step ended)
    DeviceDone,      // arg: device index; generation: the device's (the next call on it to end, at its rates then)
    BatchTimer,      // arg: replica index; generation: the replica's batch-timer generation
    DecodeStart,     // arg: replica index; an idle decode loop's next step, after the rest of this instant
    SendTaken,       // the live engine's thread takes the oldest timed send it was late for (Engine::m_lateSends)
};

struct Event {
    Nanos time;
    std::uint64_t seq;
    EventType type;
    std::uint32_t arg;
    std::uint32_t generation; // lets a source cancel its pending event by bumping its generation
};

class EventQueue {
public:
    void push(Nanos time, EventType type, std::uint32_t arg, std::uint32_t generation = 0)
    {
        m_heap.push_back(Event{time, m_nextSeq++, type, arg, generation});
        std::push_heap(m_heap.begin(), m_heap.end(), later);
    }
    Event pop()
    {
        std::pop_heap(m_heap.begin(), m_heap.end(), later);
        Event e = m_heap.back();
        m_heap.pop_back();
        return e;
    }
    bool empty() const { return m_heap.empty(); }
    std::size_t size() const { return m_heap.size(); }
    Nanos nextTime() const { return m_heap.empty() ? kNever : m_heap.front().time; }
    const Event* next() const { return m_heap.empty() ? nullptr : &m_heap.front(); }

private:
    static bool later(const Event& a, const Event& b) { return a.time != b.time ? a.time > b.time : a.seq > b.seq; }
    std::vector<Event> m_heap;
    std::uint64_t m_nextSeq = 0;
};

} // namespace knee
