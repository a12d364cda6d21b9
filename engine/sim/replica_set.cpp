#include "replica_set.h"

#include <algorithm>

namespace knee {

int ReplicaSet::add(Nanos now)
{
    auto it = std::find_if(m_slots.begin(), m_slots.end(), [](const Replica& r) { return !r.provisioned(); });
    if (it == m_slots.end())
        it = m_slots.insert(m_slots.end(), Replica{});
    Replica& rep = *it;
    rep.id = m_nextId++;
    rep.provisionedAt = now;
    rep.held = rep.preprocessing = rep.inPredict = rep.postprocessing = 0;
    rep.served = 0;
    rep.predictBusyNs = 0;
    rep.bestLatency = rep.recentLatency = 0;
    return int(it - m_slots.begin());
}

int ReplicaSet::active() const
{
    return int(std::count_if(m_slots.begin(), m_slots.end(),
                             [](const Replica& r) { return r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Ready; }));
}

int ReplicaSet::ready() const
{
    return int(std::count_if(m_slots.begin(), m_slots.end(), [](const Replica& r) { return r.state == ReplicaState::Ready; }));
}

int ReplicaSet::provisioned() const
{
    return int(std::count_if(m_slots.begin(), m_slots.end(), [](const Replica& r) { return r.provisioned(); }));
}

int ReplicaSet::victim() const
{
    int victim = -1;
    auto better = [&](const Replica& r, const Replica& v) {
        if (r.state == ReplicaState::ColdStarting)
            return v.state != ReplicaState::ColdStarting || r.id > v.id;
        if (r.state != ReplicaState::Ready || v.state == ReplicaState::ColdStarting)
            return false;
        return r.held < v.held || (r.held == v.held && r.id > v.id);
    };
    for (int i = 0; i < int(m_slots.size()); ++i) {
        const Replica& r = m_slots[std::size_t(i)];
        if ((r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Ready) && (victim < 0 || better(r, m_slots[std::size_t(victim)])))
            victim = i;
    }
    return victim;
}

} // namespace knee
