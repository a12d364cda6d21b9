// FIFO of small values on a growable ring buffer. std::deque allocates and frees a block every
// few hundred pushes as a queue breathes; this keeps its high-water capacity and never touches
// the allocator in steady state, which keeps memory flat and the hot path allocation-free.
#pragma once
#include <cstddef>
#include <vector>

namespace knee {

template <typename T>
class RingQueue {
public:
    bool empty() const { return m_size == 0; }
    std::size_t size() const { return m_size; }
    const T& front() const { return m_buf[m_head]; }

    void push(const T& v)
    {
        if (m_size == m_buf.size())
            grow();
        m_buf[(m_head + m_size) & (m_buf.size() - 1)] = v;
        ++m_size;
    }
    T pop()
    {
        T v = m_buf[m_head];
        m_head = (m_head + 1) & (m_buf.size() - 1);
        --m_size;
        return v;
    }

private:
    void grow()
    {
        std::vector<T> bigger(m_buf.empty() ? 16 : m_buf.size() * 2); // power of two: index by mask
        for (std::size_t i = 0; i < m_size; ++i)
            bigger[i] = m_buf[(m_head + i) & (m_buf.size() - 1)];
        m_buf.swap(bigger);
        m_head = 0;
    }
    std::vector<T> m_buf;
    std::size_t m_head = 0;
    std::size_t m_size = 0;
};

} // namespace knee
