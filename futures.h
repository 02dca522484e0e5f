// cf/futures.h — the umbrella header: all of cf's public API.
#ifndef CF_FUTURES_H_
#define CF_FUTURES_H_

#include "cf/core/compose.h"
#include "cf/core/coroutine.h"
#include "cf/core/errors.h"
#include "cf/core/executor.h"
#include "cf/core/future.h"
#include "cf/core/wait.h"
#include "cf/process_pool/process_pool_executor.h"
#include "cf/serialization/shared_buffer.h"
#include "cf/serialization/task.h"
#include "cf/serialization/wire.h"
#include "cf/thread_pool/thread_pool_executor.h"

#endif  // CF_FUTURES_H_
