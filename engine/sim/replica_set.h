// The deployment's replicas as a table of slots (a Removed replica's slot is reused, so the table stays as
// large as the most replicas alive at once): counting, routing (the least-loaded ready replica below its
// limit) and the choice of the replica to remove. The engine owns the transitions and their effects
// (cold start events, draining, the real predict stage); this unit owns the rules that pick.
#pragma once
#include "replica.h"

#include <cstdint>
#include <vector>

namespace knee {

class ReplicaSet {
public:
    std::vector<Replica>& table() { return m_slots; }
    const std::vector<Replica>& table() const { return m_slots; }
    Replica& operator[](int i) { return m_slots[std::size_t(i)]; }
    const Replica& operator[](int i) const { return m_slots[std::size_t(i)]; }
    int size() const { return int(m_slots.size()); }
    auto begin() { return m_slots.begin(); }
    auto end() { return m_slots.end(); }
    auto begin() const { return m_slots.begin(); }
    auto end() const { return m_slots.end(); }

    // A slot for a new replica (a Removed one, else a new slot), reset, with the next id.
    int add(Nanos now);
    int active() const; // cold starting + ready
    int ready() const;
    int provisioned() const; // every state but Removed

    // Least-loaded ready replica below its limit, the lowest slot on ties; -1 when all are full.
    // `limit(r)` says how many replica r may hold now.
    template <typename Limit>
    int leastLoaded(const Limit& limit) const
    {
        int best = -1;
        for (int i = 0; i < int(m_slots.size()); ++i) {
            const Replica& r = m_slots[std::size_t(i)];
            if (r.takesRequests() && r.held < limit(r) && (best < 0 || r.held < m_slots[std::size_t(best)].held))
                best = i;
        }
        return best;
    }
    // The replica to remove next: one still cold starting (it holds nothing; the newest), else the ready
    // replica holding the least (the newest on ties). -1 when none can go.
    int victim() const;

private:
    std::vector<Replica> m_slots;
    std::int32_t m_nextId = 0;
};

} // namespace knee
