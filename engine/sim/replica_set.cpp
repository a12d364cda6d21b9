#include "replica_set.h"

#include <algorithm>

namespace knee {

int ReplicaSet::add(Nanos now)
{
    auto it = std::find_if(m_table.begin(), m_table.end(), [](const Replica& r) { return !r.provisioned(); });
    if (it == m_table.end())
        it = m_table.insert(m_table.end(), Replica{});
    Replica& rep = *it;
    rep.id = m_nextId++;
    rep.provisionedAt = now;
    rep.held = rep.preprocessing = rep.inPredict = rep.postprocessing = 0;
    rep.served = 0;
    rep.predictBusyNs = 0;
    rep.bestLatency = rep.recentLatency = 0;
    rep.stepPending = false; // a reused slot: a stale DecodeStart finds the loop idle and harmless
    return int(it - m_table.begin());
}

int ReplicaSet::active() const
{
    return int(std::count_if(m_table.begin(), m_table.end(),
                             [](const Replica& r) { return r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Ready; }));
}

int ReplicaSet::ready() const
{
    return int(std::count_if(m_table.begin(), m_table.end(), [](const Replica& r) { return r.state == ReplicaState::Ready; }));
}

int ReplicaSet::provisioned() const
{
    return int(std::count_if(m_table.begin(), m_table.end(), [](const Replica& r) { return r.provisioned(); }));
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
    for (int i = 0; i < int(m_table.size()); ++i) {
        const Replica& r = m_table[std::size_t(i)];
        if ((r.state == ReplicaState::ColdStarting || r.state == ReplicaState::Ready) && (victim < 0 || better(r, m_table[std::size_t(victim)])))
            victim = i;
    }
    return victim;
}

} // namespace knee
