//! Template builders: `RequestBuilder`, `ResponseBuilder`, `ResultBuilder`, `DataBuilder`, and the template context they share.
