// ThreadSanitizer builds only (KNEE_SANITIZE=thread links this into knee_live, top-level CMakeLists.txt).
//
// QMetaObject::invokeMethod(context, functor) builds the functor, with copies of what it captures, on
// the calling thread and hands it to the context's thread, which calls it later. Qt orders the two
// through its event queue and its futex-based QMutex; Debian's Qt is not built with TSan, so TSan
// does not see that ordering and reports the functor's construction and its call as a data race
// (e.g. LiveEngineHost::reset's copy of the Scenario, read by LiveWorker::restart on the engine
// thread). Rather than suppress those reports, which would name knee's own functions, this tells TSan
// about the one ordering Qt guarantees: everything the caller did before invokeMethod happens before
// the functor runs. invokeMethodImpl (exported by libQt6Core, called from the header template) is
// interposed: the functor is wrapped, TSan is told "release" before it is posted and "acquire" just
// before it is called. Nothing else is hidden: a race between the functor's body and any other code
// still reports.
//
// The event that carries the functor is Qt's own: invokeMethodImpl allocates it after the release above
// and the receiving thread frees it after the call, so TSan saw the allocation (a write) unordered with
// the free (CI's tst_live_clock_margin, twice; tests/live/tst_thread_handoff reproduces it in every run).
// Qt calls postEvent inside its library, where no interposer reaches, so there is no point between the
// allocation and the post to release at. Instead, when the call is queued, the posting thread's memory
// accesses are ignored for the length of Qt's invokeMethodImpl: TSan then records the event's allocation
// as fresh memory rather than a write by this thread. A queued call runs later, on the receiver's thread,
// outside that stretch; a direct call is not ignored. The one knee code that can run inside it is the
// functor's destructor, where a blocking call's receiver has already dropped its reference, and every such
// stack holds invokeMethodImpl, which scripts/tsan.supp's race:invokeMethod already matches.
#include <QObject>
#include <QThread>

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

// In libtsan, not declared by <sanitizer/tsan_interface.h>: while begun, this thread's memory accesses
// (malloc's and free's among them) are not recorded; synchronisation still is.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();

namespace {

class HandoffSlot : public QtPrivate::QSlotObjectBase {
public:
    explicit HandoffSlot(QtPrivate::QSlotObjectBase* inner)
        : QSlotObjectBase(&impl)
        , m_inner(inner)
    {
    }

private:
    static void impl(int which, QSlotObjectBase* base, QObject* receiver, void** args, bool* ret)
    {
        auto* self = static_cast<HandoffSlot*>(base);
        switch (which) {
        case Destroy:
            self->m_inner->destroyIfLastRef();
            delete self;
            break;
        case Call:
            __tsan_acquire(self);
            self->m_inner->call(receiver, args);
            break;
        case Compare:
            *ret = self->m_inner->compare(args);
            break;
        default:
            break;
        }
    }

    QtPrivate::QSlotObjectBase* m_inner;
};

using InvokeMethodImpl = bool (*)(QObject*, QtPrivate::QSlotObjectBase*, Qt::ConnectionType, void*);

InvokeMethodImpl qtInvokeMethodImpl()
{
    static const auto real = reinterpret_cast<InvokeMethodImpl>(
        ::dlsym(RTLD_NEXT, "_ZN11QMetaObject16invokeMethodImplEP7QObjectPN9QtPrivate15QSlotObjectBaseEN2Qt14ConnectionTypeEPv"));
    if (!real) {
        std::fprintf(stderr, "sanitizer_qt_handoff: QMetaObject::invokeMethodImpl not found in Qt\n");
        std::abort();
    }
    return real;
}

} // namespace

bool QMetaObject::invokeMethodImpl(QObject* object, QtPrivate::QSlotObjectBase* slot, Qt::ConnectionType type, void* ret)
{
    auto* wrapped = new HandoffSlot(slot);
    __tsan_release(wrapped);
    // Queued: Qt only allocates the event and posts it here (see the top of this file). Auto resolves
    // as Qt does: queued when the receiver lives on another thread (or on none). knee's AutoConnection
    // calls come from Qt threads, where currentThread() is the thread's own QThread.
    const bool queued = type == Qt::QueuedConnection || type == Qt::BlockingQueuedConnection
        || (type == Qt::AutoConnection && (!object || object->thread() != QThread::currentThread()));
    // Ended however Qt leaves (its allocation may throw): a thread that ends with ignores on stops TSan.
    struct IgnoreWhile {
        bool on;
        explicit IgnoreWhile(bool queuedCall) : on(queuedCall) { if (on) __tsan_ignore_thread_begin(); }
        ~IgnoreWhile() { if (on) __tsan_ignore_thread_end(); }
    } ignore(queued);
    return qtInvokeMethodImpl()(object, wrapped, type, ret);
}
