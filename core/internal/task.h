// cf/core/internal/task.h — the unit of work an executor queues, as an intrusive list node.
//
// Not part of the public API. The thread pool queues Tasks (its submitted calls: cf/thread_pool/
// internal/task.h), and a continuation bound to such an executor (Future<T>::Then(executor, fn),
// cf/core/internal/then.h) is a Task itself, so handing it over allocates nothing.
//
// Ownership: whoever holds a Task calls exactly one of RunTask(), CancelTask(), FailTask() or
// DiscardTask() on it, once, from one thread; the Task releases itself in that call.
#ifndef CF_CORE_INTERNAL_TASK_H_
#define CF_CORE_INTERNAL_TASK_H_

#include <exception>

namespace cf::internal {

class Task {
 public:
  // Unless its future was cancelled: marks it running, runs the work, stores the outcome.
  // Never throws.
  virtual void RunTask() noexcept = 0;
  // The executor drops the work unrun (Shutdown with cancel_futures).
  virtual void CancelTask() noexcept = 0;
  // The executor cannot run the work (a broken pool): fail it with `error`.
  virtual void FailTask(std::exception_ptr error) noexcept = 0;
  // The executor refused the work at the hand-off, which then throws: release it, and leave
  // its outcome to whoever catches that exception.
  virtual void DiscardTask() noexcept = 0;

  Task* next_task = nullptr;  // the executor's intrusive queue link

 protected:
  Task() = default;
  ~Task() = default;
};

// Executors that accept a Task directly specialize this with
//   static void Push(E& executor, Task* task);  // takes the task; on refusal, DiscardTask()
//                                               // and then throws
template <typename E>
struct TaskPusher;

template <typename E>
concept PushesTasks = requires(E& executor, Task* task) { TaskPusher<E>::Push(executor, task); };

}  // namespace cf::internal

#endif  // CF_CORE_INTERNAL_TASK_H_
