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
#include <QObject>

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

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
    return qtInvokeMethodImpl()(object, wrapped, type, ret);
}
